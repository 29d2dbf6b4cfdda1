"""What a property file (tags.yaml, event-forwarding.yaml) must look like before anything reads
its parts: the one shape check `validate` and `apply` both run, so a hand edit such as
`rules: [a string]` is one clear line naming the file and the place, never a crash half way
through talking to Adobe."""

from __future__ import annotations

from typing import Any

_LISTS = ("environments", "secrets", "extensions", "data_elements", "rules")


def property_problems(document: Any, file: str, platform: str) -> list[str]:
    """Every shape problem of a property document, as "file: where: what" lines."""
    if not isinstance(document, dict):
        return [f"{file}: must be a mapping with property, extensions, data_elements and rules"]
    problems: list[str] = []
    prop = document.get("property")
    if not isinstance(prop, dict) or not isinstance(prop.get("name"), str) or not prop.get("name"):
        problems.append(f"{file}: property.name is missing")
    elif prop.get("platform") != platform:
        problems.append(f"{file}: property.platform must be {platform}")
    for key in _LISTS:
        value = document.get(key)
        if value is None:
            continue
        if not isinstance(value, list):
            problems.append(f"{file}: {key} must be a list, not a {type(value).__name__}")
            continue
        for index, item in enumerate(value, 1):
            where = f"{file}: {key} item {index}"
            if not isinstance(item, dict):
                problems.append(f"{where} must be a mapping, not a {type(item).__name__}")
                continue
            problems.extend(_item_problems(key, item, where))
    return problems


def _item_problems(key: str, item: dict[str, Any], where: str) -> list[str]:
    problems = []
    if key == "extensions":
        if not isinstance(item.get("package"), str):
            problems.append(f"{where} needs a package name")
        return problems + _settings_problems(item, where)
    if not isinstance(item.get("name"), str) or not item.get("name"):
        problems.append(f"{where} needs a name")
    if key == "data_elements":
        problems += _component_problems(item, where)
    if key == "rules":
        components = item.get("components")
        if not isinstance(components, list):
            problems.append(f"{where} ({item.get('name')!s:.40}) needs a list of components")
        else:
            for number, component in enumerate(components, 1):
                place = f"{where} component {number}"
                if not isinstance(component, dict):
                    problems.append(f"{place} must be a mapping, not a {type(component).__name__}")
                    continue
                if not isinstance(component.get("name"), str):
                    problems.append(f"{place} needs a name")
                problems += _component_problems(component, place)
                for flag, kind in (("order", int), ("timeout", int), ("delay_next", bool), ("negate", bool)):
                    value = component.get(flag)
                    if value is not None and (not isinstance(value, kind) or (kind is int and isinstance(value, bool))):
                        problems.append(f"{place}: {flag} must be {'a whole number' if kind is int else 'true or false'}")
    return problems


def _component_problems(item: dict[str, Any], where: str) -> list[str]:
    problems = []
    descriptor = item.get("delegate_descriptor_id")
    if not isinstance(descriptor, str) or descriptor.count("::") != 2:
        problems.append(f"{where} needs a delegate_descriptor_id (package::kind::name)")
    if not isinstance(item.get("extension"), str):
        problems.append(f"{where} needs the extension (package) it belongs to")
    return problems + _settings_problems(item, where)


def _settings_problems(item: dict[str, Any], where: str) -> list[str]:
    settings = item.get("settings")
    if settings is not None and not isinstance(settings, dict):
        return [f"{where}: settings must be a mapping, not a {type(settings).__name__}"]
    return []
