"""The output folder's layout (DESIGN §3): the name of every file quickstart writes or reads there.

Other checks rely on these names; they live here only (settings.py holds the environment: base
URLs, variables, versions).
"""

from __future__ import annotations

ANSWERS_FILE = "quickstart.yaml"
TAGS_FILE = "tags.yaml"
FORWARDING_FILE = "event-forwarding.yaml"
DATASTREAM_FILE = "datastream.yaml"

STAGES = ("development", "staging", "production")  # Adobe's environments, in publishing order


def head_snippet(stage: str) -> str:
    """The <head> snippet of one environment: the queue and that environment's embed code."""
    return f"snippets/head.{stage}.html"


HEAD_SNIPPET = head_snippet("development")
LEGACY_HEAD_SNIPPET = "snippets/head.html"  # before per-environment snippets; `update` moves it
DATA_LAYER_SNIPPET = "snippets/data-layer.js"
SITE_TYPES_SNIPPET = "snippets/metaConversion.d.ts"  # TypeScript declaration of the site API
STATE_DIR = ".quickstart"
STATE_FILE = ".quickstart/state.json"
MANIFEST_FILE = ".quickstart/manifest.json"
ENV_FILE = ".env"
