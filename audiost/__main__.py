"""``python -m audiost`` runs the CLI."""

from .cli import main

main()
