"""The folder as apply reads it: the two property documents as ``PropertySpec``, the datastream
document, the answers (all from quickstart/folder.py), and what apply derives from them.

Shape problems stop here, before any call (one line naming the file and the item).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from quickstart import layout, settings
from quickstart.blueprint.datastream import EVENT_FORWARDING_SERVICE
from quickstart.blueprint.descriptors import CORE
from quickstart.errors import InputError

SCOPE_TITLES = {"edge": "event forwarding property", "web": "Tags property", "datastream": "datastream"}


@dataclass
class PropertySpec:
    scope: str  # edge | web
    file: str
    doc: dict[str, Any]

    @property
    def name(self) -> str:
        return self.doc["property"]["name"]

    @property
    def platform(self) -> str:
        return self.doc["property"]["platform"]

    def items(self, key: str) -> list[dict[str, Any]]:
        return list(self.doc.get(key) or [])


@dataclass
class Folder:
    path: Path
    edge: PropertySpec
    web: PropertySpec
    datastream: dict[str, Any]
    answers_values: dict[str, Any] | None

    @property
    def specs(self) -> list[PropertySpec]:
        return [self.edge, self.web]

    @property
    def library_name(self) -> str:
        from quickstart.blueprint.common import property_names

        return property_names(str((self.answers_values or {}).get("domain") or ""))["library"]

    @property
    def datastream_title(self) -> str:
        return str((self.datastream.get("datastream") or {}).get("title") or f"{self.web.name} datastream")

    @property
    def sandbox(self) -> str:
        return str((self.datastream.get("datastream") or {}).get("sandbox") or "prod")

    @property
    def forwarding_stage(self) -> str:
        service = (self.datastream.get("services") or {}).get(EVENT_FORWARDING_SERVICE) or {}
        return str(service.get("environment") or "development")

    def datastream_id(self) -> str | None:
        """The development datastream id: an answer (quickstart.yaml), read there only;
        datastream.yaml and tags.yaml are renders of it."""
        return _real((self.answers_values or {}).get("datastream_id"))


def _real(value: Any) -> str | None:
    text = str(value).strip() if value not in (None, "") else ""
    return text if text and text != settings.PENDING_DATASTREAM_ID else None


def _check_spec(spec: PropertySpec, platform: str) -> None:
    from quickstart.shapes import property_problems

    problems = property_problems(spec.doc, spec.file, platform)
    if problems:
        raise InputError(problems[0] + (f" (and {len(problems) - 1} more; `quickstart validate` lists them)"
                                        if len(problems) > 1 else ""))
    for secret in spec.items("secrets"):
        if not secret.get("name") or secret.get("type_of", "token") != "token":
            raise InputError(f"{spec.file}: secrets need a name, and only type_of: token is supported")
    packages = {ext.get("package") for ext in spec.items("extensions")}
    if CORE not in packages:
        raise InputError(f"{spec.file}: extensions must include core")
    used = [(f"data element {d.get('name')!r}", d) for d in spec.items("data_elements")]
    for rule in spec.items("rules"):
        if not rule.get("name"):
            raise InputError(f"{spec.file}: a rule has no name")
        used += [(f"rule {rule['name']!r} component {c.get('name')!r}", c) for c in rule.get("components") or []]
    for what, item in used:
        if not item.get("name") or not item.get("delegate_descriptor_id"):
            raise InputError(f"{spec.file}: {what} needs a name and a delegate_descriptor_id")
        if item.get("extension") not in packages:
            raise InputError(f"{spec.file}: {what} uses extension {item.get('extension')!r}, which is not under extensions:")


def load_folder(folder: str | Path, loaded: Any = None) -> Folder:
    """The folder as apply reads it, from the one loader (quickstart/folder.py), or from ``loaded``
    when the caller has it already: its first problem in the answers or the property files stops
    here, before any call."""
    from quickstart.folder import load_folder as load

    loaded = (loaded or load(folder)).require(layout.ANSWERS_FILE, layout.TAGS_FILE, layout.FORWARDING_FILE)
    edge = PropertySpec("edge", layout.FORWARDING_FILE, loaded.forwarding)
    web = PropertySpec("web", layout.TAGS_FILE, loaded.tags)
    _check_spec(edge, "edge")
    _check_spec(web, "web")
    return Folder(loaded.path, edge, web, loaded.datastream, loaded.answers_values)
