"""``.quickstart/state.json``: what `apply` and `publish` learned from Adobe (ids, embed URLs,
what was published where). Never a secret. The one reader and writer of that file."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

from quickstart.fsio import atomic_write
from quickstart.layout import STAGES, STATE_FILE


def load_state(folder: str | Path) -> dict[str, Any]:
    try:
        return json.loads((Path(folder) / STATE_FILE).read_text(encoding="utf-8"))
    except (FileNotFoundError, json.JSONDecodeError, OSError):
        return {}


def embed_urls_of(state: dict[str, Any]) -> dict[str, str]:
    """Each environment's embed URL as `apply` recorded it (an older state.json has only development's)."""
    urls = state.get("embed_urls")
    urls = dict(urls) if isinstance(urls, dict) else {}
    if state.get("embed_url") and "development" not in urls:
        urls["development"] = state["embed_url"]
    return {stage: str(url) for stage, url in urls.items() if stage in STAGES and url}


def save_state(folder: str | Path, state: dict[str, Any], stamp: str = "applied_at",
               old: dict[str, Any] | None = None) -> bool:
    """Write ``state`` (atomically) unless it says what the file says already (``old``, when the
    caller read it already); True when written. ``stamp`` records the time of the write."""
    old = load_state(folder) if old is None else old
    if {k: v for k, v in state.items() if k != stamp} == {k: v for k, v in old.items() if k != stamp}:
        return False  # a run that learned nothing new leaves the folder as it was
    state = {**state, stamp: time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())}
    atomic_write(Path(folder) / STATE_FILE, json.dumps(state, indent=2, sort_keys=True) + "\n")
    return True
