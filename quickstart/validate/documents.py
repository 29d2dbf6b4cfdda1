"""Reading the property documents: their data elements, rules and components, settings, and
the data element references in them (``%name%`` on the web, ``{{name}}`` on the edge)."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

WEB_TOKEN = re.compile(r"%([^%\s]+)%")
TURBINE_EVENT_HOSTS = ("event", "this", "target")  # %event.x%: Turbine's own references
EDGE_TOKEN = re.compile(r"{{([^}]+)}}")


def data_elements(document: Mapping[str, Any]) -> dict[str, dict[str, Any]]:
    return {de["name"]: de for de in document.get("data_elements") or [] if isinstance(de, dict) and "name" in de}


def rules_of(document: Mapping[str, Any]) -> dict[str, dict[str, Any]]:
    return {rule["name"]: rule for rule in document.get("rules") or [] if isinstance(rule, dict) and "name" in rule}


def components_of(rule: Mapping[str, Any]) -> list[dict[str, Any]]:
    """The rule's components in execution order (order, then position)."""
    components = [c for c in rule.get("components") or [] if isinstance(c, dict)]
    return [c for _, c in sorted(enumerate(components), key=lambda ic: (order_of(ic[1]), ic[0]))]


def order_of(component: Mapping[str, Any]) -> int:
    try:
        return int(component.get("order") or 0)
    except (TypeError, ValueError):
        return 0


def settings_of(item: Mapping[str, Any]) -> dict[str, Any]:
    settings = item.get("settings")
    return settings if isinstance(settings, dict) else {}


def kind_of(descriptor: str | None) -> str:
    """``core::actions::custom-code`` -> ``actions``."""
    parts = (descriptor or "").split("::")
    return parts[1] if len(parts) == 3 else ""


def web_reference(value: Any) -> str | None:
    """The data element a web setting is, when it is exactly ``%Name%``."""
    match = WEB_TOKEN.fullmatch(value) if isinstance(value, str) else None
    return match.group(1) if match else None


def edge_reference(value: Any) -> str | None:
    """The data element an edge setting is, when it is exactly ``{{Name}}``."""
    match = EDGE_TOKEN.fullmatch(value) if isinstance(value, str) else None
    return match.group(1).strip() if match else None
