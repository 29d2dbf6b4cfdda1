"""The property models as plain data: what `init` writes and `apply` creates.

``build_all(answers)`` returns the three documents of the output folder (DESIGN §3) as
dicts; render/ serialises them, adobe/ plans and posts them, validate/ checks them.
"""

from __future__ import annotations

from typing import Any

from quickstart.blueprint.datastream import build_datastream
from quickstart.blueprint.forwarding import build_forwarding_property
from quickstart.blueprint.tags import build_tags_property
from quickstart.layout import DATASTREAM_FILE, FORWARDING_FILE, TAGS_FILE

__all__ = ["build_all", "build_datastream", "build_forwarding_property", "build_tags_property"]


def build_all(answers) -> dict[str, dict[str, Any]]:
    return {
        TAGS_FILE: build_tags_property(answers),
        FORWARDING_FILE: build_forwarding_property(answers),
        DATASTREAM_FILE: build_datastream(answers),
    }
