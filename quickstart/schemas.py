"""The settings schemas of the Adobe extensions we use, and validation against them.

The manifests in ``extension_manifests/`` are copies of the real ``extension.json`` files
(reference/adobe-extensions/); every ``settings`` object we generate must pass its delegate's
JSON schema (draft 4), as Reactor checks on the server.
"""

from __future__ import annotations

import functools
import hashlib
import json
import os
from pathlib import Path
from typing import Any, Callable

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


def schema_in(descriptor: str, *, package_name: Any, configuration: Any,
              delegates: Callable[[str], list[dict[str, Any]]]) -> dict[str, Any] | None:
    """The JSON schema ``descriptor`` names in one package (a manifest, or the live package
    Reactor serves): its configuration's, or a delegate's (``delegates(kind)`` lists those of a
    descriptor kind, e.g. ``actions``); ``{}`` when it declares none, None when it is unknown."""
    parts = descriptor.split("::")
    if len(parts) != 3 or parts[0] != package_name:
        return None
    if parts[1] == "extensionConfiguration":
        configuration = configuration or {}
        return None if configuration.get("id", descriptor) != descriptor else (configuration.get("schema") or {})
    for delegate in delegates(parts[1]) or []:
        if delegate.get("id") == descriptor or delegate.get("name") == parts[2]:
            return delegate.get("schema") or {}
    return None


def descriptor_schema(descriptor: str, platform: str) -> dict[str, Any] | None:
    """The schema of a delegate in quickstart's copy of the real manifests (extension_manifests/)."""
    manifest = manifests().get((descriptor.split("::", 1)[0], platform))
    if manifest is None:
        return None
    return schema_in(descriptor, package_name=manifest.get("name"), configuration=manifest.get("configuration"),
                     delegates=lambda kind: manifest.get(kind, []))


_known_valid: set[str] | None = None
_new_valid: set[str] = set()


@functools.lru_cache(maxsize=1)
def _manifests_fingerprint() -> str:
    digest = hashlib.sha256()
    for path in sorted(MANIFEST_DIR.glob("*.extension.json")):
        digest.update(path.read_bytes())
    return digest.hexdigest()[:16]


def _cache_file() -> Path:
    from quickstart.settings import cache_dir

    return Path(cache_dir()) / f"valid-settings-{_manifests_fingerprint()}.json"


def _key(descriptor: str, settings: Any, platform: str) -> str:
    text = json.dumps([platform, descriptor, settings], sort_keys=True, ensure_ascii=False, default=repr)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def _known() -> set[str]:
    global _known_valid
    if _known_valid is None:
        try:
            _known_valid = set(json.loads(_cache_file().read_text(encoding="utf-8")))
        except (OSError, ValueError, TypeError):
            _known_valid = set()
    return _known_valid


def save_valid_cache() -> None:
    """Remember the settings that passed (never the ones that failed): the next check of the
    same settings against the same manifests needs no jsonschema. Best effort."""
    global _new_valid
    if not _new_valid:
        return
    known = _known() | _new_valid
    path = _cache_file()
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
        tmp.write_text(json.dumps(sorted(known)), encoding="utf-8")
        os.replace(tmp, path)
    except OSError:
        return
    _new_valid = set()


def validate_settings(descriptor: str, settings: Any, platform: str) -> list[str]:
    """Problems with ``settings`` for ``descriptor`` (empty when valid). Settings that passed
    before (same settings, same manifests) are answered from a cache without jsonschema."""
    key = _key(descriptor, settings, platform)
    if key in _known():
        return []
    problems = _validate(descriptor, settings, platform)
    if not problems:
        _new_valid.add(key)
    return problems


def _validate(descriptor: str, settings: Any, platform: str) -> list[str]:
    import jsonschema

    if descriptor.count("::") != 2:
        return [f"{descriptor!r} is not a delegate descriptor id (package::kind::name)"]
    schema = descriptor_schema(descriptor, platform)
    if schema is None:
        from quickstart.suggest import did_you_mean

        known = [f"{name}::extensionConfiguration::config" for (name, plat) in manifests() if plat == platform]
        known += [f"{name}::{kind}::{item.get('name')}" for (name, plat), manifest in manifests().items() if plat == platform
                  for kind in ("events", "conditions", "actions", "dataElements") for item in manifest.get(kind) or []]
        return [f"unknown delegate {descriptor!r} for platform {platform}{did_you_mean(descriptor, known)}"]
    validator = jsonschema.Draft4Validator(schema)
    return [
        f"{'/'.join(str(p) for p in error.absolute_path) or '(settings)'}: {error.message}"
        for error in sorted(validator.iter_errors(settings), key=lambda e: list(e.absolute_path))
    ]
