"""Small readers over Reactor's JSON:API resources, and the references a plan holds.

A resource is the dict the client returns (``id``, ``type``, ``attributes``, ``relationships``,
``meta``; ``settings`` already decoded). A plan names resources that do not exist yet by
reference, ``{"$ref": KEY}``, resolved from the ids known while executing.
"""

from __future__ import annotations

import re
from typing import Any, Iterable, Mapping

from quickstart.adobe.reactor import describe_status_details, related_id

REF = "$ref"
_PATH_REF = re.compile(r"\{([^{}]+)\}")


def attrs(resource: Mapping[str, Any] | None) -> dict[str, Any]:
    return dict((resource or {}).get("attributes") or {})


def name_of(resource: Mapping[str, Any] | None) -> str:
    return str(attrs(resource).get("name") or "")


def is_head(resource: Mapping[str, Any]) -> bool:
    return attrs(resource).get("revision_number", 0) in (0, None)


def heads(items: Iterable[dict[str, Any]]) -> list[dict[str, Any]]:
    return [item for item in items if is_head(item)]


def by_name(items: Iterable[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """Name -> resource; when a name is doubled the oldest wins."""
    found: dict[str, dict[str, Any]] = {}
    for item in sorted(items, key=lambda i: attrs(i).get("created_at") or ""):
        found.setdefault(name_of(item), item)
    return found


def related_ids(resource: Mapping[str, Any], name: str) -> list[str]:
    """Ids of a to-many relationship (a component's rules), or of a to-one as a list."""
    data = ((resource.get("relationships") or {}).get(name) or {}).get("data")
    if isinstance(data, dict):
        return [data["id"]] if data.get("id") else []
    return [item["id"] for item in data or [] if isinstance(item, dict) and item.get("id")]


def origin_of(resource: Mapping[str, Any]) -> str | None:
    return related_id(dict(resource), "origin")


def status_details(resource: Mapping[str, Any]) -> str:
    """Why asynchronous work failed: ``meta.status_details`` (reference §1.7)."""
    details = (resource.get("meta") or {}).get("status_details") or attrs(resource).get("status_details")
    return describe_status_details(details)


def version_key(version: Any) -> tuple[int, ...]:
    return tuple(int(part) for part in re.findall(r"\d+", str(version or "0"))[:3])


# -- references ------------------------------------------------------------------------------


def reference(key: str) -> dict[str, str]:
    return {REF: key}


def is_reference(value: Any) -> bool:
    return isinstance(value, dict) and set(value) == {REF}


def references_in(value: Any) -> set[str]:
    """Every key a body refers to: ``{"$ref": KEY}`` anywhere (strings are data, never templates)."""
    found: set[str] = set()
    if is_reference(value):
        found.add(value[REF])
    elif isinstance(value, dict):
        for item in value.values():
            found |= references_in(item)
    elif isinstance(value, list):
        for item in value:
            found |= references_in(item)
    return found


def path_references(path: str) -> set[str]:
    """The keys of a request path template, ``/properties/{edge.property}/rules``."""
    return set(_PATH_REF.findall(path))


def resolve_path(path: str, ids: Mapping[str, str]) -> str:
    return _PATH_REF.sub(lambda match: ids[match.group(1)], path)


def resolve(value: Any, ids: Mapping[str, str]) -> Any:
    """A copy of ``value`` with every reference replaced by its id; KeyError names a missing one."""
    if is_reference(value):
        return ids[value[REF]]
    if isinstance(value, dict):
        return {key: resolve(item, ids) for key, item in value.items()}
    if isinstance(value, list):
        return [resolve(item, ids) for item in value]
    return value
