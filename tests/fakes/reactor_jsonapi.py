"""The fake's JSON:API plumbing: documents, lookups, serialisation, paged and filtered lists."""

from __future__ import annotations

import copy
import json
import re
from typing import Any


from tests.fakes.adobe_common import (
    DEFAULT_PAGE_SIZE,
    ApiError,
    new_id,
    now,
)


class JsonApi:
    """Mixed into FakeAdobe (tests/fakes/reactor.py), which holds the state."""

    def _data(self, body: bytes) -> dict[str, Any]:
        try:
            document = json.loads(body.decode("utf-8"))
        except ValueError:
            raise ApiError(400, "invalid-json", "Bad Request", "the body is not JSON") from None
        if not isinstance(document, dict) or "data" not in document:
            raise ApiError(400, "invalid-document", "Bad Request", "a JSON:API document needs data", "/data")
        return document["data"]

    def _get(self, id_: str) -> dict[str, Any]:
        resource = self.resources.get(id_)
        if resource is None:
            raise ApiError(404, "not-found", "Record Not Found", f"no record {id_}", "/data")
        return resource

    def _get_typed(self, id_: str, type_: str) -> dict[str, Any]:
        resource = self._get(id_)
        if resource["type"] != type_:
            raise ApiError(404, "not-found", "Record Not Found", f"no {type_} {id_}", "/data")
        return resource

    def _out(self, resource: dict[str, Any]) -> dict[str, Any]:
        out = {k: copy.deepcopy(v) for k, v in resource.items() if not k.startswith("_")}
        out.setdefault("relationships", {})
        out["links"] = {"self": f"{self.url}/{resource['type']}/{resource['id']}"}
        return out

    def _list(self, items: list[dict[str, Any]], query: dict[str, list[str]]) -> tuple[int, dict[str, str], Any]:
        for key, values in query.items():
            match = re.match(r"^filter\[(\w+)\]$", key)
            if match:
                items = self._filter(items, match.group(1), values[-1])  # the last filter of an attribute wins
        for item in items:
            self._on_read(item)
        try:
            size = max(1, int((query.get("page[size]") or [DEFAULT_PAGE_SIZE])[0]))
            number = max(1, int((query.get("page[number]") or [1])[0]))
        except ValueError:
            raise ApiError(400, "invalid-page", "Bad Request", "page[size] and page[number] are numbers") from None
        total_pages = max(1, -(-len(items) // size))
        page = items[(number - 1) * size: number * size]
        pagination = {"current_page": number, "next_page": number + 1 if number < total_pages else None,
                      "prev_page": number - 1 if number > 1 else None, "total_pages": total_pages,
                      "total_count": len(items)}
        return 200, {}, {"data": [self._out(i) for i in page], "meta": {"pagination": pagination}}

    @staticmethod
    def _filter(items: list[dict[str, Any]], attribute: str, expression: str) -> list[dict[str, Any]]:
        clauses = []
        for clause in expression.split(","):
            op, _, value = clause.strip().partition(" ")
            if op not in ("EQ", "NOT", "CONTAINS") or not value:
                return items  # a malformed filter is silently ignored, as Reactor does
            clauses.append((op, value))
        if not items or attribute not in items[0].get("attributes", {}):
            return items

        def keep(item: dict[str, Any]) -> bool:
            actual = item["attributes"].get(attribute)
            actual = "null" if actual is None else str(actual).lower() if isinstance(actual, bool) else str(actual)
            return any((op == "EQ" and actual == v) or (op == "NOT" and actual != v) or (op == "CONTAINS" and v in actual)
                       for op, v in clauses)

        return [item for item in items if keep(item)]

    def _on_read(self, resource: dict[str, Any]) -> None:
        """Asynchronous work advances when someone looks (secrets and builds)."""
        if resource["type"] in ("secrets", "builds") and resource["attributes"]["status"] == "pending":
            resource["_polls"] -= 1
            if resource["_polls"] < 0:
                self._finish(resource)

    def _require(self, attributes: dict[str, Any], *names: str) -> None:
        for name in names:
            if attributes.get(name) in (None, ""):
                raise ApiError(422, "required", "Unprocessable Entity", f"{name} is required", f"/data/attributes/{name}")

    def _unique(self, items: list[dict[str, Any]], name: str, what: str) -> None:
        if any(i["attributes"].get("name") == name and i["attributes"].get("revision_number", 0) == 0 for i in items):
            raise ApiError(409, "not-unique", "Conflict",
                           f"The name you are trying to use is already in use. For this resource ({what}), the 'name' property must be unique.",
                           "/data/attributes/name")

    def _rel(self, relationships: dict[str, Any], name: str, type_: str, prop: dict[str, Any], required: bool = True) -> dict[str, Any] | None:
        data = (relationships.get(name) or {}).get("data")
        if not isinstance(data, dict) or not data.get("id"):
            if required:
                raise ApiError(422, "required", "Unprocessable Entity", f"the {name} relationship is required",
                               f"/data/relationships/{name}")
            return None
        target = self.resources.get(data["id"])
        if target is None or target["type"] != type_ or (type_ != "extension_packages" and target.get("_property") != prop["id"]):
            raise ApiError(404, "not-found", "Record Not Found", f"no {type_} {data['id']} in this property",
                           f"/data/relationships/{name}")
        return target

    def _insert(self, type_: str, prefix: str, prop_id: str, attributes: dict[str, Any], relationships: dict[str, Any]) -> dict[str, Any]:
        resource_id = new_id(prefix)
        relationships = dict(relationships)
        relationships["property"] = {"data": {"id": prop_id, "type": "properties"}}
        self.resources[resource_id] = {"id": resource_id, "type": type_, "attributes": attributes,
                                       "relationships": relationships, "_property": prop_id, "meta": {}}
        return self.resources[resource_id]

    def _insert_head(self, type_: str, prop_id: str, attributes: dict[str, Any], relationships: dict[str, Any]) -> dict[str, Any]:
        prefix = {"extensions": "EX", "data_elements": "DE", "rules": "RL", "rule_components": "RC"}[type_]
        attributes = dict(attributes)
        attributes.update({"revision_number": 0, "dirty": True, "published": False, "created_at": now(), "updated_at": now()})
        if isinstance(attributes.get("settings"), (dict, list)):
            attributes["settings"] = json.dumps(attributes["settings"])
        resource = self._insert(type_, prefix, prop_id, attributes, relationships)
        resource["relationships"]["origin"] = {"data": {"id": resource["id"], "type": type_}}
        resource["meta"] = {"latest_revision_number": 0}
        return resource

    def _touch(self, head: dict[str, Any]) -> None:
        head["attributes"]["dirty"] = True
        head["attributes"]["updated_at"] = now()
