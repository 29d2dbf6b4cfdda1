"""What Adobe's Meta CAPI extension (1.7.0, action send_capi_data) sends for resolved settings.

`validate` builds its test events with this, so Meta's answer to validate is Meta's answer to
production. The facts are in reference/adobe-runtime.md §6 (read from the extension's public
source, never copied): its own normalisation is weaker than Meta's, 64 alphanumerics pass
through unchanged, a list or object in a customer field throws (the whole event is lost),
``data_processing_options`` is always there, ``client_ip_address`` and ``client_user_agent`` are
sent as given, nulls included, ``customData`` as resolved. ``tests/test_engines.py`` holds this
module and the engine tests' JavaScript emulation to the same requests.

Values: ``UNDEFINED`` is JavaScript's ``undefined`` (the key is left out of the JSON), ``None``
is ``null`` (sent as null).
"""

from __future__ import annotations

import hashlib
import json
import math
import re
from typing import Any

GRAPH_VERSION = "v22.0"  # the extension's apiVersion.js
PARTNER_AGENT = "adobe_launch"


class _Undefined:
    def __repr__(self) -> str:
        return "undefined"

    def __bool__(self) -> bool:
        return False


UNDEFINED: Any = _Undefined()


class ExtensionThrows(Exception):
    """The extension throws: the rule fails and Meta gets nothing."""


_LOOKS_HASHED = re.compile(r"[0-9A-Za-z]{64}")


def truthy(value: Any) -> bool:
    """JavaScript truthiness (an empty list or object is truthy there)."""
    if value is UNDEFINED or value is None or value is False:
        return False
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return value != 0 and not math.isnan(value)
    if isinstance(value, str):
        return value != ""
    return True


def js_string(value: Any) -> str:
    """String(value) as JavaScript writes it."""
    if value is UNDEFINED:
        return "undefined"
    if value is None:
        return "null"
    if value is True or value is False:
        return "true" if value else "false"
    if isinstance(value, float) and value.is_integer() and abs(value) < 1e21:
        return str(int(value))
    if isinstance(value, (dict, list)):
        return "[object Object]" if isinstance(value, dict) else ",".join(js_string(v) for v in value)
    return str(value)


def _looks_hashed(value: Any) -> bool:
    return isinstance(value, str) and _LOOKS_HASHED.fullmatch(value) is not None


def _sha256(field: str, value: Any) -> str:
    if isinstance(value, bool) or not isinstance(value, (str, int, float)):
        raise ExtensionThrows(f'The value of the "{field}" field is not a string or a number. '
                              "Cannot generate a SHA-256 string.")
    if _looks_hashed(value):
        return value
    return hashlib.sha256(js_string(value).encode("utf-8")).hexdigest()


def _lower(value: Any) -> Any:
    return value.lower() if isinstance(value, str) and not _looks_hashed(value) else value


def _trim(value: Any) -> Any:
    return value.strip() if isinstance(value, str) and not _looks_hashed(value) else value


def _phone(value: Any) -> Any:
    if _looks_hashed(value) or isinstance(value, (list, dict)):
        return value
    digits = re.sub(r"\D", "", js_string(value))
    return str(int(digits)) if digits else "NaN"  # String(parseInt(...)): "NaN" when no digits


def _zip(value: Any) -> Any:
    if isinstance(value, str) and not _looks_hashed(value):
        return value.replace("-", "").replace(" ", "")
    return value


# CAPI extension field -> (user_data key, its normalisation before hashing)
USER_FIELDS: dict[str, tuple[str, Any]] = {
    "country": ("country", lambda v: _sha256("Country (country)", _lower(v))),
    "city": ("ct", lambda v: _sha256("City (ct)", _lower(v))),
    "dob": ("db", lambda v: _sha256("Date of birth (db)", v)),
    "email": ("em", lambda v: _sha256("Email (em)", _trim(_lower(v)))),
    "externalId": ("external_id", lambda v: _sha256("External ID (external_id)", v)),
    "firstName": ("fn", lambda v: _sha256("First Name (fn)", _lower(v))),
    "gender": ("ge", lambda v: _sha256("Gender (ge)", v)),
    "lastName": ("ln", lambda v: _sha256("Last Name (ln)", _lower(v))),
    "phone": ("ph", lambda v: _sha256("Phone (ph)", _phone(v))),
    "state": ("st", lambda v: _sha256("State (st)", _lower(v))),
    "zip": ("zp", lambda v: _sha256("Zip (zp)", _zip(v))),
}


def build_body(settings: dict[str, Any]) -> dict[str, Any]:
    """The JSON body of the extension's request, as a dict (UNDEFINED keys already left out).

    Raises ExtensionThrows where the extension would throw."""
    user_data: dict[str, Any] = {"client_ip_address": settings.get("clientIpAddress", UNDEFINED),
                                 "client_user_agent": settings.get("clientUserAgent", UNDEFINED)}
    for field, (key, normalize) in sorted(USER_FIELDS.items(), key=lambda item: item[1][0]):
        value = settings.get(field, UNDEFINED)
        user_data[key] = normalize(value) if truthy(value) else UNDEFINED
    for field in ("fbc", "fbp"):
        value = settings.get(field, UNDEFINED)
        user_data[field] = value if truthy(value) else UNDEFINED
    ldu = truthy(settings.get("lduEnabled", UNDEFINED))
    event: dict[str, Any] = {
        "event_name": settings.get("eventName", UNDEFINED),
        "event_time": settings.get("eventTime", UNDEFINED),
        "event_id": settings["eventId"] if truthy(settings.get("eventId", UNDEFINED)) else UNDEFINED,
        "event_source_url": settings["eventSourceUrl"] if truthy(settings.get("eventSourceUrl", UNDEFINED)) else UNDEFINED,
        "action_source": settings.get("actionSource", UNDEFINED),
        "data_processing_options": ["LDU"] if ldu else [],
        "data_processing_options_country": 0 if ldu else UNDEFINED,
        "data_processing_options_state": 0 if ldu else UNDEFINED,
        "user_data": user_data,
    }
    custom_data = settings.get("customData", UNDEFINED)
    if truthy(custom_data):
        if isinstance(custom_data, str):
            try:
                custom_data = json.loads(custom_data)
            except ValueError:
                custom_data = {}
        if isinstance(custom_data, dict):
            event["custom_data"] = custom_data
    body = {
        "test_event_code": settings.get("testEventCode", UNDEFINED) if truthy(settings.get("isTestEvent", UNDEFINED)) else UNDEFINED,
        "data": [event],
        "partner_agent": PARTNER_AGENT,
    }
    return without_undefined(body)


def without_undefined(value: Any) -> Any:
    """What JSON.stringify keeps: keys whose value is undefined are left out."""
    if isinstance(value, dict):
        return {key: without_undefined(item) for key, item in value.items() if item is not UNDEFINED}
    if isinstance(value, list):
        return [None if item is UNDEFINED else without_undefined(item) for item in value]
    return value
