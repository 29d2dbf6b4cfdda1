"""The settings schemas of the Adobe extensions we use, and validation against them.

The manifests in ``extension_manifests/`` are copies of the real ``extension.json`` files
(reference/adobe-extensions/); every ``settings`` object we generate must pass its delegate's
JSON schema (draft 4), as Reactor checks on the server.
"""

from __future__ import annotations

import functools
import json
from pathlib import Path
from typing import Any

MANIFEST_DIR = Path(__file__).resolve().parent / "extension_manifests"
_KINDS = {"events": "events", "conditions": "conditions", "actions": "actions", "dataElements": "dataElements"}


@functools.lru_cache(maxsize=None)
def manifests() -> dict[tuple[str, str], dict[str, Any]]:
    """(package name, platform) -> manifest."""
    found = {}
    for path in sorted(MANIFEST_DIR.glob("*.extension.json")):
        manifest = json.loads(path.read_text(encoding="utf-8"))
        found[(manifest["name"], manifest["platform"])] = manifest
    return found


def descriptor_schema(descriptor: str, platform: str) -> dict[str, Any] | None:
    """The JSON schema of a delegate, ``{}`` when it declares none, None when it is unknown."""
    package, kind, name = descriptor.split("::", 2)
    manifest = manifests().get((package, platform))
    if manifest is None:
        return None
    if kind == "extensionConfiguration":
        return (manifest.get("configuration") or {}).get("schema") or {}
    for delegate in manifest.get(kind, []):
        if delegate.get("name") == name:
            return delegate.get("schema") or {}
    return None


def validate_settings(descriptor: str, settings: Any, platform: str) -> list[str]:
    """Problems with ``settings`` for ``descriptor`` (empty when valid)."""
    import jsonschema

    try:
        schema = descriptor_schema(descriptor, platform)
    except ValueError:
        return [f"{descriptor!r} is not a delegate descriptor id (package::kind::name)"]
    if schema is None:
        return [f"unknown delegate {descriptor!r} for platform {platform}"]
    validator = jsonschema.Draft4Validator(schema)
    return [
        f"{'/'.join(str(p) for p in error.absolute_path) or '(settings)'}: {error.message}"
        for error in sorted(validator.iter_errors(settings), key=lambda e: list(e.absolute_path))
    ]
