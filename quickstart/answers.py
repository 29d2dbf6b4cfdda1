"""The answers of DESIGN §2: per-field validation, and quickstart.yaml load/save.

Each ``validate_*`` returns the clean value or raises ``InputError`` with one line that says
what is wrong and what a good value looks like. The wizard uses the same functions while the
user types, so a flag, a prompt and an answers file accept exactly the same values.
"""

from __future__ import annotations

import io
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

from quickstart import catalog
from quickstart.errors import InputError, MissingAnswersError
from quickstart.settings import DEFAULT_DATA_LAYER_PATH

_LABEL = re.compile(r"^(?!-)[a-z0-9-]{1,63}(?<!-)$")
_IDENTIFIER = re.compile(r"^[A-Za-z_$][A-Za-z0-9_$]*$")
# Identifiers that would write into Object.prototype or shadow built-ins when walked.
_FORBIDDEN_SEGMENTS = {"__proto__", "prototype", "constructor"}
_PIXEL_ID = re.compile(r"^[0-9]{1,20}$")
_TEST_EVENT_CODE = re.compile(r"^[A-Za-z0-9]{1,64}$")
_DATASTREAM_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_:-]{0,127}$")


def shown(value: Any, limit: int = 60) -> str:
    """An input as an error line may echo it: repr, capped (a 120 KB domain is not a line)."""
    text = repr(value if isinstance(value, str) else str(value))
    return text if len(text) <= limit else text[:limit - 4] + "…'"


def validate_domain(value: str) -> str:
    raw = str(value).strip()
    if not raw:
        raise InputError("domain is empty; give the site's hostname, e.g. example.com")
    if "://" in raw or raw.lower().startswith(("http:", "https:")):
        raise InputError(f"domain {shown(raw)} has a scheme; give the hostname only, e.g. example.com")
    if any(ch in raw for ch in "/?#@:") or any(ch.isspace() for ch in raw):
        raise InputError(f"domain {shown(raw)} is not a hostname (no path, port, user or spaces), e.g. shop.example.com")
    host = raw.rstrip(".").lower()
    try:
        ascii_host = host.encode("idna").decode("ascii")
    except UnicodeError:
        raise InputError(f"domain {shown(raw)} is not a valid hostname") from None
    labels = ascii_host.split(".")
    if len(labels) < 2 or len(ascii_host) > 253 or not all(_LABEL.fullmatch(label) for label in labels):
        raise InputError(f"domain {shown(raw)} is not a valid hostname, e.g. example.com")
    if labels[-1].isdigit():
        raise InputError(f"domain {shown(raw)} looks like an IP address; give the site's hostname")
    # IDNA maps what a browser would (fullwidth letters, soft hyphens, zero-width characters, a
    # BOM) before it looks a name up: the stored domain is that canonical host, not what was typed.
    return ascii_host.encode("ascii").decode("idna")


def validate_pixel_id(value: str) -> str:
    raw = str(value).strip()
    if not _PIXEL_ID.fullmatch(raw):
        raise InputError(f"pixel id {shown(raw)} must be digits only (Events Manager > Data sources > your pixel)")
    return raw


def validate_data_layer_path(value: str) -> str:
    raw = str(value).strip()
    parts = raw.split(".")
    if len(parts) < 2 or parts[0] != "window" or not all(_IDENTIFIER.fullmatch(p) for p in parts[1:]):
        raise InputError(f"data layer path {shown(raw)} must be window. followed by dot-separated JavaScript names, e.g. window.dataLayer.meta")
    bad = _FORBIDDEN_SEGMENTS.intersection(parts)
    if bad:
        raise InputError(f"data layer path {shown(raw)} may not use {sorted(bad)[0]!r}")
    return raw


def validate_test_event_code(value: str | None) -> str | None:
    if value is None or str(value).strip() == "":
        return None
    raw = str(value).strip()
    if not _TEST_EVENT_CODE.fullmatch(raw):
        raise InputError(f"test event code {shown(raw)} must be letters and digits, e.g. TEST12345")
    return raw


def validate_datastream_id(value: str | None) -> str | None:
    if value is None or str(value).strip() == "":
        return None
    raw = str(value).strip()
    if not _DATASTREAM_ID.fullmatch(raw):
        raise InputError(f"datastream id {shown(raw)} is not an Adobe datastream id (letters, digits, '-', ':')")
    return raw


def validate_default_country(value: str | None) -> str | None:
    """ISO 3166-1 alpha-2, stored uppercase; None when not given (national phones are then left out)."""
    if value is None or str(value).strip() == "":
        return None
    raw = str(value).strip()
    from quickstart.meta.browser_tables import browser_tables

    if not (len(raw) == 2 and raw.isascii() and raw.lower() in browser_tables()["alpha2"]):
        raise InputError(f"default country {shown(raw)} must be an ISO 3166-1 alpha-2 code, e.g. US, GB or DE")
    return raw.upper()


def validate_events(value: str | list[str] | tuple[str, ...]) -> list[str]:
    if isinstance(value, str):
        items: list[Any] = value.split(",")
    elif isinstance(value, (list, tuple)):
        items = list(value)
    else:
        raise InputError(f"events must be a list of event names or a comma-separated string, not a {type(value).__name__}")
    for index, item in enumerate(items, 1):
        if not isinstance(item, str):
            raise InputError(f"events: item {index} is a {type(item).__name__}; list event names, e.g. Purchase")
    names = [item.strip() for item in items if item.strip()]
    if not names:
        raise InputError("events: empty; choose at least one of: " + ", ".join(catalog.EVENT_NAMES))
    by_lower = {name.lower(): name for name in catalog.EVENT_NAMES}
    unknown = [name for name in names if name.lower() not in by_lower]
    if unknown:
        from quickstart.suggest import did_you_mean

        hint = did_you_mean(unknown[0], catalog.EVENT_NAMES)
        raise InputError(f"events: unknown event {shown(unknown[0])}{hint or '; choose from: ' + ', '.join(catalog.EVENT_NAMES)}")
    chosen = {by_lower[name.lower()] for name in names}
    return [name for name in catalog.EVENT_NAMES if name in chosen]


def validate_ldu(value: Any) -> bool:
    if isinstance(value, bool):
        return value
    text = str(value).strip().lower()
    if text in ("true", "yes", "on", "1"):
        return True
    if text in ("false", "no", "off", "0", ""):
        return False
    raise InputError(f"ldu {value!r} must be true or false")


# field -> (validator, flag that sets it); the order is the wizard's order.
VALIDATORS: dict[str, Callable[[Any], Any]] = {
    "domain": validate_domain,
    "pixel_id": validate_pixel_id,
    "data_layer_path": validate_data_layer_path,
    "events": validate_events,
    "test_event_code": validate_test_event_code,
    "ldu": validate_ldu,
    "default_country": validate_default_country,
    "datastream_id": validate_datastream_id,
    "staging_datastream_id": validate_datastream_id,
    "production_datastream_id": validate_datastream_id,
}
FLAGS = {
    "domain": "DOMAIN (argument)",
    "pixel_id": "--pixel-id (or META_PIXEL_ID)",
    "data_layer_path": "--data-layer-path",
    "events": "--events",
    "test_event_code": "--test-event-code",
    "ldu": "--ldu/--no-ldu",
    "default_country": "--default-country",
    "datastream_id": "--datastream-id",
    "staging_datastream_id": "--staging-datastream-id",
    "production_datastream_id": "--production-datastream-id",
}
REQUIRED = ("domain", "pixel_id")
OPTIONAL_EMPTY = ("test_event_code", "datastream_id", "staging_datastream_id", "production_datastream_id", "default_country")
SITE_BOUND = ("datastream_id", "staging_datastream_id", "production_datastream_id")  # ids of one site's Adobe setup


@dataclass
class Answers:
    domain: str
    pixel_id: str
    data_layer_path: str = DEFAULT_DATA_LAYER_PATH
    events: list[str] = field(default_factory=lambda: list(catalog.EVENT_NAMES))
    test_event_code: str | None = None
    ldu: bool = False
    default_country: str | None = None  # gives national phone numbers their country code
    datastream_id: str | None = None  # every stage's, unless the stage has its own below
    staging_datastream_id: str | None = None
    production_datastream_id: str | None = None

    @classmethod
    def from_values(cls, values: dict[str, Any]) -> "Answers":
        clean = check_values(values)
        missing = missing_required(clean)
        if missing:
            raise missing_answers_error(missing)
        return cls(**clean)

    @property
    def path_segments(self) -> list[str]:
        """The identifiers after ``window.``: window.dataLayer.meta -> ["dataLayer", "meta"]."""
        return self.data_layer_path.split(".")[1:]

    @property
    def chosen_events(self) -> list[catalog.Event]:
        return catalog.select(self.events)

    def to_dict(self) -> dict[str, Any]:
        return {
            "domain": self.domain,
            "pixel_id": self.pixel_id,
            "data_layer_path": self.data_layer_path,
            "events": list(self.events),
            "test_event_code": self.test_event_code,
            "ldu": self.ldu,
            "default_country": self.default_country,
            "datastream_id": self.datastream_id,
            "staging_datastream_id": self.staging_datastream_id,
            "production_datastream_id": self.production_datastream_id,
        }


def check_values(values: dict[str, Any]) -> dict[str, Any]:
    """Validate every given value; return the clean ones. Unknown keys are an error."""
    unknown = sorted(set(values) - set(VALIDATORS))
    if unknown:
        from quickstart.suggest import did_you_mean

        hint = did_you_mean(unknown[0], VALIDATORS)
        raise InputError(f"unknown answer {shown(unknown[0])}{hint or '; known answers: ' + ', '.join(VALIDATORS)}")
    clean = {}
    for key, value in values.items():
        if key != "events" and value is not None and not isinstance(value, (str, int, bool)):
            raise InputError(f"{key} must be a single value, not a {type(value).__name__}")
        if value is None and key not in REQUIRED:
            clean[key] = None if key in OPTIONAL_EMPTY else VALIDATORS[key](_default(key))
            continue
        if value is None:
            continue
        clean[key] = VALIDATORS[key](value)
    return clean


def _default(key: str) -> Any:
    return {"data_layer_path": DEFAULT_DATA_LAYER_PATH, "events": list(catalog.EVENT_NAMES), "ldu": False}[key]


def missing_required(values: dict[str, Any]) -> list[str]:
    return [key for key in REQUIRED if values.get(key) in (None, "")]


def missing_answers_error(missing: list[str]) -> MissingAnswersError:
    flags = ", ".join(FLAGS[key] for key in missing)
    return MissingAnswersError(f"missing {flags}; no terminal to ask on, so pass them as flags or use --answers quickstart.yaml")


def drop_site_bound(values: dict[str, Any], domain: str | None) -> tuple[dict[str, Any], str | None]:
    """Answers replayed from another site's quickstart.yaml, without that site's own ids."""
    other = values.get("domain")
    if not domain or not other or not any(values.get(key) for key in SITE_BOUND):
        return values, None
    try:
        same = validate_domain(str(other)) == validate_domain(str(domain))
    except InputError:
        same = False
    if same:
        return values, None
    dropped = [key for key in SITE_BOUND if values.get(key)]
    kept = {key: value for key, value in values.items() if key not in dropped}
    return kept, (f"{', '.join(dropped)} from the answers file belongs to {shown(other)}, not {shown(domain)}: "
                  "left out (`quickstart apply` sets this site's)")


def merge(base: dict[str, Any], given: dict[str, Any]) -> dict[str, Any]:
    """Answers file values, overridden by flags."""
    merged = dict(base)
    merged.update({key: value for key, value in given.items() if value is not None})
    return merged


# ---------------------------------------------------------------------------------------------
# quickstart.yaml (ruamel round trip, so the user's comments survive)


def _new_answers_text(answers: Answers) -> str:
    """A new quickstart.yaml without loading ruamel (every value is a scalar or a list of
    scalars); the round trip that `update` uses reads it back as the same answers (tested)."""
    from quickstart.yamlio import scalar_text

    lines = [HEADER + "version: 1"]
    for key, value in answers.to_dict().items():
        if value is None:
            lines.append(f"{key}:")
        elif isinstance(value, list):
            lines.append(f"{key}:")
            lines.extend(f"  - {scalar_text(item)}" for item in value)
        else:
            lines.append(f"{key}: {scalar_text(value)}")
    return "\n".join(lines) + "\n"

HEADER = """\
# quickstart answers for this site: no secrets here (the access token lives in the
# environment or in .env). Edit a value, then run `quickstart update <folder>`.
"""


def _yaml():
    from ruamel.yaml import YAML

    yaml = YAML()  # round-trip mode keeps comments and order
    yaml.indent(mapping=2, sequence=4, offset=2)
    yaml.width = 100
    return yaml


MAX_ANSWERS_FILE_CHARS = 64 * 1024
ANSWERS_VERSION = "1"  # numbers are read as text here: `pixel_id: 0x1F` stays "0x1F", not 31


def load_answers_file(path: str | Path) -> dict[str, Any]:
    """Read a quickstart.yaml into raw values (validated by ``check_values``). Reading needs no
    comments, so it takes the fast loader (YAML 1.2 meaning, as the round trip reads it); the
    round trip is for writing (``dump_answers``)."""
    from quickstart.yamlio import YAMLError, error_line, load_document

    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise InputError(f"answers file {str(path)!r} does not exist") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise InputError(f"cannot read answers file {str(path)!r}: {type(exc).__name__}") from None
    if len(text) > MAX_ANSWERS_FILE_CHARS:
        raise InputError(f"answers file {str(path)!r} has {len(text):,} characters; a quickstart.yaml has a few hundred")
    try:
        data = load_document(text, allow_aliases=False, numbers_as_text=True)
    except YAMLError as exc:
        line = error_line(exc)
        where = f", line {line}" if line is not None else ""
        why = "uses YAML anchors or aliases (& or *); write each value out" if "anchors" in str(exc) \
            else f"is not valid YAML ({exc})"
        raise InputError(f"answers file {str(path)!r}{where}: {why}") from None
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise InputError(f"answers file {str(path)!r} must be a mapping of answers")
    values = {str(key): (list(value) if isinstance(value, list) else value) for key, value in data.items()}
    version = str(values.pop("version", ANSWERS_VERSION))
    if version != ANSWERS_VERSION:
        raise InputError(f"answers file {str(path)!r} has version {shown(version)}; this quickstart reads version "
                         f"{ANSWERS_VERSION}")
    for secretish in ("token", "access_token", "accessToken"):
        if secretish in values:
            raise InputError(f"answers file {str(path)!r} holds a token; remove it (tokens go in the environment or .env)")
    return values


def dump_answers(answers: Answers, existing_text: str | None = None) -> str:
    """quickstart.yaml text; when ``existing_text`` is given, its comments and order are kept."""
    if not existing_text:
        return _new_answers_text(answers)
    yaml = _yaml()
    data = None
    if existing_text:
        try:
            data = yaml.load(existing_text)
        except Exception:
            data = None
    if not isinstance(data, dict):
        data = yaml.load(HEADER + "version: 1\n")
    values = answers.to_dict()
    for key, value in values.items():
        if isinstance(value, list) and isinstance(data.get(key), list) and list(data[key]) == value:
            continue  # keep the user's list formatting when nothing changed
        data[key] = value
    buffer = io.StringIO()
    yaml.dump(data, buffer)
    return buffer.getvalue()
