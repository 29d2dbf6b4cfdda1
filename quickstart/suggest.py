"""'Did you mean': the closest known name to a mistyped one (difflib), as a message suffix."""

from __future__ import annotations

import difflib
from typing import Iterable


def closest(word: str, choices: Iterable[str]) -> str | None:
    """The known name closest to ``word`` (case-insensitive), when one is close enough."""
    choices = list(choices)
    by_lower = {choice.lower(): choice for choice in choices}
    found = difflib.get_close_matches(str(word).lower(), list(by_lower), n=1, cutoff=0.6)
    return by_lower[found[0]] if found else None


def did_you_mean(word: str, choices: Iterable[str]) -> str:
    """"; did you mean X?" or ""."""
    match = closest(word, choices)
    return f"; did you mean {match}?" if match else ""
