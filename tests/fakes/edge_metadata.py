"""The fake Edge metadata service: datastream records (undocumented, reference/adobe-reactor.md §5)."""

from __future__ import annotations

import copy
import json
import uuid
from typing import Any


from tests.fakes.adobe_common import (
    ApiError,
)


class EdgeMetadata:
    """Mixed into FakeAdobe (tests/fakes/reactor.py), which holds the state."""

    def _edge(self, method: str, path: str, query: dict[str, list[str]], headers: Any, body: bytes) -> tuple[int, dict[str, str], Any]:
        base = "/metadata/namespaces/edge/datasets/datastreams/records"
        if path.rstrip("/") == base:
            if method == "GET":
                start = int((query.get("start") or ["0"])[0])
                limit = int((query.get("limit") or ["10"])[0])
                if limit < 10:
                    raise ApiError(400, "EXEG-3181", "Bad Request", "limit must be at least 10")
                records = sorted(self.datastreams.values(), key=lambda r: r["data"]["title"])
                wanted = (query.get("property") or [""])[0]
                if wanted.startswith("title:"):
                    records = [r for r in records if wanted[6:].lower() in r["data"]["title"].lower()]
                page = records[start:start + limit]
                links = {"next": {"href": f"{base}?start={start + limit}&limit={limit}"}} if start + limit < len(records) else {}
                return 200, {}, {"_embedded": {"records": copy.deepcopy(page)}, "_links": links}
            if method == "POST":
                document = json.loads(body.decode("utf-8") or "{}")
                data = document.get("data") or {}
                if not data.get("title"):
                    raise ApiError(400, "EXEG-0001", "Bad Request", "data.title is required")
                record_id = str(uuid.uuid4())
                record = {"data": data, "_system": {"id": record_id, "revision": {"revision": 1}}}
                self.datastreams[record_id] = record
                return 201, {}, copy.deepcopy(record)
        if path.startswith(base + "/"):
            record_id = path[len(base) + 1:].strip("/")
            record = self.datastreams.get(record_id)
            if record is None:
                raise ApiError(404, "EXEG-0404", "Not Found", f"no datastream {record_id}")
            if method == "GET":
                return 200, {}, copy.deepcopy(record)
            if method == "PUT":
                document = json.loads(body.decode("utf-8") or "{}")
                record["data"] = document.get("data") or record["data"]
                record["_system"]["revision"]["revision"] += 1
                return 200, {}, copy.deepcopy(record)
        raise ApiError(404, "EXEG-0404", "Not Found", f"no route {method} {path}")
