"""Command-line interface: ``audiost transfer`` for one pair, ``audiost batch`` for folders."""

from __future__ import annotations

import sys
from typing import Any

import click

from .batch import batch
from .common import EXIT_INTERRUPTED, fail
from .evaluate import evaluate
from .info import info
from .texture import texture
from .transfer import transfer


class _OneLineErrors(click.Group):
    """A command group whose usage errors are one line, like every other failure.

    Click prints a usage error as four lines (usage, hint, blank, error); a
    batch log or a calling script should see one ``audiost: error:`` line.
    """

    def main(self, *args: Any, standalone_mode: bool = True, **kwargs: Any) -> Any:
        if not standalone_mode:
            return super().main(*args, standalone_mode=False, **kwargs)
        try:
            super().main(*args, standalone_mode=False, **kwargs)
        except click.exceptions.NoArgsIsHelpError as exc:
            click.echo(exc.format_message(), err=True)
            sys.exit(exc.exit_code)
        except click.UsageError as exc:
            where = exc.ctx.command_path if exc.ctx else "audiost"
            argv = kwargs.get("args") or (args[0] if args else None) or sys.argv[1:]
            message = exc.format_message().rstrip(".") + _from_environment(exc, argv)
            fail(f"{message}; see '{where} --help'", exc.exit_code)
        except click.ClickException as exc:
            fail(exc.format_message(), exc.exit_code)
        except click.Abort:
            fail("interrupted", EXIT_INTERRUPTED)
        sys.exit(0)


def _from_environment(exc: click.UsageError, argv: list[str]) -> str:
    """Where a bad value came from when the user did not type it: ``(from $AUDIOST_TRANSFER_MIX)``."""
    param, ctx = getattr(exc, "param", None), exc.ctx
    if not isinstance(param, click.Option) or ctx is None:
        return ""
    typed = any(
        arg == opt or arg.startswith(f"{opt}=") for arg in argv for opt in param.opts
    )
    if typed or param.resolve_envvar_value(ctx) is None:
        return ""
    return (
        f" (from ${param.envvar or f'{ctx.auto_envvar_prefix}_{param.name.upper()}'})"
    )


@click.group(
    cls=_OneLineErrors,
    context_settings={
        "help_option_names": ["-h", "--help"],
        # Defaults from the environment: AUDIOST_TRANSFER_BIT_DEPTH=16,
        # AUDIOST_BATCH_JOBS=4 (AUDIOST_<COMMAND>_<OPTION>).
        "auto_envvar_prefix": "AUDIOST",
    },
)
@click.version_option(package_name="audiost")
def main() -> None:
    """Neural style transfer for sound and pictures."""


main.add_command(transfer)
main.add_command(batch)
main.add_command(evaluate)
main.add_command(texture)
main.add_command(info)

__all__ = ["main"]
