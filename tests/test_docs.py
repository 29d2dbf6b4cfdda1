"""Every command is documented: a --help with a description and an example (sqlite-utils' test_docs)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from quickstart.cli import cli

README = Path(__file__).resolve().parents[1] / "README.md"


@pytest.mark.parametrize("name", sorted(cli.commands))
def test_command_help_has_an_example(runner, name):
    result = runner.invoke(cli, [name, "--help"])
    assert result.exit_code == 0
    assert "Examples:" in result.output and f"quickstart {name}" in result.output


def test_every_option_has_help_text():
    for command in cli.commands.values():
        for param in command.params:
            if param.param_type_name == "option" and param.name != "help":
                assert param.help, f"{command.name} {param.opts}"


def test_readme_mentions_every_command():
    text = README.read_text()
    for name in cli.commands:
        assert f"quickstart {name}" in text, name


def test_readme_has_exactly_two_setup_commands():
    setup = README.read_text().split("## Set up", 1)[1].split("\n## ", 1)[0]
    blocks = re.findall(r"```sh\n(.*?)```", setup, re.S)
    assert len(blocks) == 2 and all(len(b.strip().splitlines()) == 1 for b in blocks)
