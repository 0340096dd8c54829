"""The documentation names only what exists: every command line's options, every API name and keyword.

A renamed option or setting breaks a user's copy-and-paste from the
README long before anyone rereads it; these checks read the docs the way
the user would, without running the (slow, file-writing) examples.
"""

from __future__ import annotations

import ast
import importlib
import inspect
import re
import shlex
from pathlib import Path

import pytest

import audiost
from audiost.cli import main
from audiost.config import AudioConfig, ImageConfig, setting_names

REPO = Path(__file__).resolve().parents[1]
PAGES = [REPO / "README.md", *sorted((REPO / "docs").glob("*.md"))]
#: ``audiost COMMAND ...`` at a line's start or after a shell operator.
COMMAND_LINE = re.compile(r"(?:^|[|&;$]\s*)audiost\s+([a-z]+)(.*)")
SHELL_BLOCK = re.compile(r"```(?:sh|bash|console)?\n(.*?)```", re.DOTALL)
INLINE_CODE = re.compile(r"`([^`\n]+)`")


def command_lines() -> list[tuple[str, str, str]]:
    """``(page, command, arguments)`` of every audiost command in a shell block or an inline code span."""
    found = []
    for page in PAGES:
        text = page.read_text()
        lines = [
            line.strip()
            for block in SHELL_BLOCK.findall(text)
            for line in block.replace("\\\n", " ").splitlines()
        ]
        lines += INLINE_CODE.findall(SHELL_BLOCK.sub("", text))
        for line in lines:
            match = COMMAND_LINE.search(line)
            if match:
                # The command alone: not a comment, pipe or next command.
                arguments = re.split(r"\s#|[|;]|&&", match.group(2))[0]
                found.append((page.name, match.group(1), arguments))
    return found


def option_names(command) -> set[str]:
    return {
        name
        for param in command.params
        for name in [*getattr(param, "opts", []), *getattr(param, "secondary_opts", [])]
    } | {"--help", "-h"}


def test_every_documented_command_line_uses_options_that_exist() -> None:
    lines = command_lines()
    # The README alone shows a score of them: a pattern that matched
    # nothing would pass vacuously.
    assert len(lines) > 40, lines
    wrong = []
    for page, name, arguments in lines:
        command = main.commands.get(name)
        if command is None:
            wrong.append(f"{page}: no command {name!r}")
            continue
        for token in shlex.split(arguments.replace("[", " ").replace("]", " ")):
            option = token.split("=")[0]
            is_option = option.startswith("-") and option not in ("-", "--")
            if (
                is_option
                and not option[1:2].isdigit()
                and option not in option_names(command)
            ):
                wrong.append(f"{page}: audiost {name} has no {option}")
    assert not wrong, "\n".join(wrong)


def api_blocks() -> list[ast.Module]:
    text = (REPO / "docs" / "api.md").read_text()
    return [
        ast.parse(block)
        for block in re.findall(r"```python\n(.*?)```", text, re.DOTALL)
    ]


@pytest.mark.parametrize("tree", api_blocks())
def test_the_api_page_calls_what_exists_with_keywords_it_takes(tree) -> None:
    names = {"audiost": audiost}
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom):
            module = importlib.import_module(node.module)
            for alias in node.names:
                assert hasattr(module, alias.name), f"{node.module}.{alias.name}"
                names[alias.asname or alias.name] = getattr(module, alias.name)
    settings = setting_names(AudioConfig) | setting_names(ImageConfig)
    calls = 0
    for node in ast.walk(tree):
        if (
            isinstance(node, ast.Attribute)
            and isinstance(node.value, ast.Name)
            and node.value.id == "audiost"
        ):
            assert hasattr(audiost, node.attr), f"audiost.{node.attr}"
        if not isinstance(node, ast.Call):
            continue
        function = _resolve(node.func, names)
        if function is None or not callable(function):
            continue
        calls += 1
        parameters = inspect.signature(function).parameters
        takes_settings = any(p.kind is p.VAR_KEYWORD for p in parameters.values())
        for keyword in node.keywords:
            if keyword.arg is None:  # **mapping
                continue
            known = keyword.arg in parameters or (
                takes_settings and keyword.arg in settings
            )
            assert known, f"{ast.unparse(node.func)}(..., {keyword.arg}=...)"
    assert calls >= 10


def _resolve(expression: ast.expr, names: dict[str, object]) -> object | None:
    """What ``audiost.x``, ``x`` (imported from audiost) or ``audiost.x.y`` names, if anything."""
    if isinstance(expression, ast.Name):
        return names.get(expression.id)
    if isinstance(expression, ast.Attribute):
        owner = _resolve(expression.value, names)
        return None if owner is None else getattr(owner, expression.attr, None)
    return None
