"""The in-page probes of validate --site: plain JavaScript in snippets/probes/ (each returns
JSON-able data), loaded once. The browser tests run them against real pages."""

from __future__ import annotations

import functools
import json
from typing import Any

from quickstart.resources import resource_dir


@functools.lru_cache(maxsize=None)
def probe(name: str) -> str:
    """The probe's source without its leading comment (Playwright takes a function expression)."""
    text = (resource_dir("snippets") / "probes" / f"{name}.js").read_text(encoding="utf-8")
    return "\n".join(line for line in text.splitlines() if not line.startswith("//")).strip()


def early_probe(first: Any) -> str:
    """The init script that fires ``first`` ([name, data] or None) through the site queue early."""
    return probe("early").replace("__FIRST__", json.dumps(first))
