"""Comparing what a file wants with what Adobe holds, as data; and settings against the live
extension package's schema (the one Adobe will check them with)."""

from __future__ import annotations

from typing import Any

from quickstart.adobe.plan import Diff
from quickstart.adobe.resources import attrs, is_reference, references_in
from quickstart.errors import InputError


def diff_values(path: str, old: Any, new: Any) -> list[Diff]:
    """Where two values differ, down into mappings; lists and scalars compare whole."""
    if isinstance(old, dict) and isinstance(new, dict) and not is_reference(new):
        found: list[Diff] = []
        for key in sorted(set(old) | set(new), key=str):
            where = f"{path}.{key}"
            if key not in new:
                found.append(Diff(where, old[key], None, new_absent=True))
            elif key not in old:
                found.append(Diff(where, None, new[key], old_absent=True))
            else:
                found += diff_values(where, old[key], new[key])
        return found
    if old == new and not references_in(new):
        return []
    return [Diff(path, old, new)]


def attribute_diffs(current: dict[str, Any] | None, wanted: dict[str, Any]) -> list[Diff]:
    held = attrs(current)
    found: list[Diff] = []
    for key, value in wanted.items():
        if key == "name":
            continue
        if key not in held:
            found.append(Diff(key, None, value, old_absent=True))
        else:
            found += diff_values(key, held[key], value)
    return found


def changed_attributes(diffs: list[Diff], wanted: dict[str, Any]) -> dict[str, Any]:
    top = {d.path.split(".", 1)[0] for d in diffs}
    return {key: wanted[key] for key in wanted if key in top}


def descriptor_schema(package: dict[str, Any], descriptor: str) -> dict[str, Any] | None:
    """The schema of ``descriptor`` in a live package resource (reference §2.5)."""
    from quickstart.schemas import schema_in

    attributes = package.get("attributes") or {}
    # Delegate kinds in descriptors are camelCase; the package resource lists them snake_case.
    return schema_in(descriptor, package_name=attributes.get("name"), configuration=attributes.get("configuration"),
                     delegates=lambda kind: attributes.get({"dataElements": "data_elements"}.get(kind, kind)) or [])


def _placeholders(value: Any) -> Any:
    """References stand for ids: check the shape with a placeholder string."""
    if is_reference(value):
        return "(known after apply)"
    if isinstance(value, dict):
        return {key: _placeholders(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_placeholders(item) for item in value]
    return value


def validate_against_package(package: dict[str, Any], descriptor: str, settings_value: Any, where: str) -> None:
    """InputError naming the file, the resource and the JSON pointer of the first problem."""
    import jsonschema

    attributes = package.get("attributes") or {}
    label = f"{attributes.get('name')} {attributes.get('version') or ''}".strip()
    schema = descriptor_schema(package, descriptor)
    if schema is None:
        raise InputError(f"{where}: the live {label} extension has no delegate {descriptor!r}")
    errors = sorted(jsonschema.Draft4Validator(schema).iter_errors(_placeholders(settings_value)),
                    key=lambda e: list(e.absolute_path))
    if errors:
        error = errors[0]
        pointer = "/data/attributes/settings" + "".join(f"/{part}" for part in error.absolute_path)
        raise InputError(f"{where}: settings rejected by the live {label} schema: {error.message} (at {pointer})")
