"""Snapshots of what the commands print as data, so moving code cannot change it unnoticed:
`validate --dry-run --json` (the exact request production sends) and `update --dry-run --json`
after an answer changed. Ids, times and paths are normalised. After an intended change:
``UPDATE_SNAPSHOTS=1 python -m pytest tests/test_snapshots.py``, then review the diff."""

from __future__ import annotations

import json
import os
import re
from pathlib import Path

from quickstart.cli import cli

SNAPSHOTS = Path(__file__).parent / "snapshots"
UUID = re.compile(r"\b[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}\b")


def normalise(text: str, folder: Path) -> object:
    text = text.replace(str(folder), "<folder>")
    text = UUID.sub("<uuid>", text)
    text = re.sub(r'"event_time": \d+', '"event_time": "<now>"', text)
    text = re.sub(r"fb\.1\.\d+\.\d+", "<fbp: fb.1.time.random>", text)
    return json.loads(text)


def check(name: str, data: object) -> None:
    path = SNAPSHOTS / f"{name}.json"
    if os.environ.get("UPDATE_SNAPSHOTS") == "1" or not path.exists():
        path.write_text(json.dumps(data, indent=1, sort_keys=True) + "\n", encoding="utf-8")
    assert data == json.loads(path.read_text(encoding="utf-8")), f"{path.name} differs; see the module docstring"


def test_validate_dry_run_json(tmp_path, runner):
    folder = tmp_path / "example.com"
    made = runner.invoke(cli, ["init", "example.com", "--pixel-id", "1234567890", "--test-event-code", "TEST123",
                               "--events", "PageView,Purchase", "--default-country", "US", "--yes", "-o", str(folder)])
    assert made.exit_code == 0, made.output
    result = runner.invoke(cli, ["validate", str(folder), "--dry-run", "--json"], env={"META_CAPI_ACCESS_TOKEN": None})
    assert result.exit_code == 0, result.output
    check("validate_dry_run", normalise(result.stdout, folder))


def test_update_dry_run_json(tmp_path, runner):
    folder = tmp_path / "example.com"
    assert runner.invoke(cli, ["init", "example.com", "--pixel-id", "1234567890", "--events", "PageView,Purchase",
                               "--yes", "-o", str(folder)]).exit_code == 0
    result = runner.invoke(cli, ["update", str(folder), "--events", "PageView,Lead", "--dry-run", "--json"])
    assert result.exit_code == 5, result.output
    check("update_dry_run", normalise(result.stdout, folder))
