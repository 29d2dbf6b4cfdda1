"""The folder as apply reads it: the two property files, the datastream file, the answers.

Shape problems stop here, before any call (one line naming the file and the item).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from quickstart import settings
from quickstart.blueprint.datastream import EVENT_FORWARDING_SERVICE
from quickstart.errors import InputError

SECRET_DATA_ELEMENT_DESCRIPTOR = "core::dataElements::secret"
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
        """The datastream id the folder carries, first found in: answers, datastream.yaml, tags.yaml."""
        candidates = [(self.answers_values or {}).get("datastream_id"),
                      (self.datastream.get("datastream") or {}).get("id")]
        candidates += [instance.get("edgeConfigId") for instance in alloy_instances(self.web)]
        return next((value for value in map(_real, candidates) if value), None)


def _real(value: Any) -> str | None:
    text = str(value).strip() if value not in (None, "") else ""
    return text if text and text != settings.PENDING_DATASTREAM_ID else None


def alloy_instances(web: PropertySpec) -> list[dict[str, Any]]:
    for ext in web.items("extensions"):
        if ext.get("package") == "adobe-alloy":
            return list((ext.get("settings") or {}).get("instances") or [])
    return []


def _load_yaml(path: Path, required: bool) -> dict[str, Any] | None:
    from quickstart.yamlio import YAMLError, error_line, load_document

    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        if required:
            raise InputError(f"{path} is missing; is this a folder made by `quickstart init`?") from None
        return None
    except UnicodeDecodeError as exc:
        raise InputError(f"{path} is not UTF-8 text (byte {exc.start}); save it as UTF-8") from None
    except OSError as exc:
        raise InputError(f"{path} cannot be read ({exc.strerror or type(exc).__name__})") from None
    try:
        data = load_document(text)
    except YAMLError as exc:
        line = error_line(exc)
        where = f", line {line}" if line is not None else ""
        raise InputError(f"{path}{where}: not valid YAML ({exc})") from None
    if not isinstance(data, dict):
        raise InputError(f"{path} must be a mapping")
    return data


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
    if "core" not in packages:
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


def load_folder(folder: str | Path) -> Folder:
    path = Path(folder)
    if not path.is_dir():
        raise InputError(f"{path} is not a folder")
    edge = PropertySpec("edge", settings.FORWARDING_FILE, _load_yaml(path / settings.FORWARDING_FILE, required=True) or {})
    web = PropertySpec("web", settings.TAGS_FILE, _load_yaml(path / settings.TAGS_FILE, required=True) or {})
    _check_spec(edge, "edge")
    _check_spec(web, "web")
    datastream = _load_yaml(path / settings.DATASTREAM_FILE, required=False) or {}
    answers_values = None
    if (path / settings.ANSWERS_FILE).exists():
        from quickstart.answers import check_values, load_answers_file

        answers_values = load_answers_file(path / settings.ANSWERS_FILE)
        check_values(answers_values)  # a bad answer (a datastream id, say) stops here, before any call
    return Folder(path, edge, web, datastream, answers_values)
