"""Datastreams through the Edge Network metadata service: UNDOCUMENTED, used only on request.

Adobe publishes no API for datastreams (reference/adobe-reactor.md §5). Its own Web SDK
extension UI reads them from ``{edge}/metadata/namespaces/edge/datasets/datastreams/records``,
and others have created them there with POST and updated them with read-modify-PUT. We use it
only behind ``apply --create-datastream``; it may change or refuse us at any time. We send our
own client id as ``x-api-key``; see §5 for what others observed about that [verify live].
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from quickstart import settings
from quickstart.http import DEFAULT_RETRY, CallStats, RetryPolicy, json_or, send_with_retries
from quickstart.blueprint.datastream import EVENT_FORWARDING_SERVICE
from quickstart.errors import RemoteError

RECORDS_PATH = "/metadata/namespaces/edge/datasets/datastreams/records"
PAGE_LIMIT = 10  # the service's minimum


@dataclass
class DatastreamOutcome:
    id: str
    action: str  # create | update | unchanged


class DatastreamClient:
    def __init__(self, tokens: Any, session: Any, *, sandbox: str = "prod", base_url: str | None = None,
                 retry: RetryPolicy = DEFAULT_RETRY, stats: CallStats | None = None):
        self.tokens = tokens
        self.session = session
        self.sandbox = sandbox
        self.base_url = (base_url or settings.edge_url()).rstrip("/")
        self.retry = retry
        self.stats = stats

    def _call(self, method: str, path: str, *, params: dict[str, Any] | None = None,
              body: dict[str, Any] | None = None) -> dict[str, Any]:
        credentials = self.tokens.credentials
        headers = {
            "Authorization": f"Bearer {self.tokens.token()}",
            "x-api-key": credentials.client_id,
            "x-gw-ims-org-id": credentials.org_id,
            "x-sandbox-name": self.sandbox,
            "Accept": "application/json",
        }
        if body is not None:
            headers["Content-Type"] = "application/json"
        response = send_with_retries(self.session, method, self.base_url + path, idempotent=method == "GET",
                                     what="Adobe Edge metadata service", policy=self.retry, stats=self.stats,
                                     params=params, json=body, headers=headers)
        document = json_or(response, {}) if response.content else {}
        if response.status_code >= 400:
            errors = document.get("errors") if isinstance(document, dict) else None
            parts = [f"{e.get('code') or e.get('title')}: {e.get('detail') or e.get('message')}" for e in errors or [] if isinstance(e, dict)]
            if not parts and isinstance(document, dict):
                parts = [": ".join(str(document[k]) for k in ("title", "detail", "message") if document.get(k))]
            described = "; ".join(p for p in parts if p) or f"HTTP {response.status_code}"
            raise RemoteError(f"the datastream endpoint (undocumented) refused {method} ({response.status_code}: {described}); "
                              "create the datastream in Data Collection > Datastreams instead and pass --datastream-id")
        return document if isinstance(document, dict) else {}

    def find_by_title(self, title: str) -> dict[str, Any] | None:
        start = 0
        while True:
            page = self._call("GET", RECORDS_PATH, params={"orderby": "title", "property": f"title:{title}",
                                                           "start": start, "limit": PAGE_LIMIT})
            records = (page.get("_embedded") or {}).get("records") or []
            for record in records:
                if (record.get("data") or {}).get("title") == title:
                    return record
            if not (page.get("_links") or {}).get("next") or not records:
                return None
            start += len(records)

    def create(self, data: dict[str, Any]) -> dict[str, Any]:
        return self._call("POST", RECORDS_PATH, body={"data": data})

    def replace(self, record_id: str, data: dict[str, Any]) -> dict[str, Any]:
        return self._call("PUT", f"{RECORDS_PATH}/{record_id}", body={"data": data})


def record_id(record: dict[str, Any]) -> str:
    return str((record.get("_system") or {}).get("id") or record.get("id") or "")


def forwarding_differs(record: dict[str, Any], property_id: Any, environment_id: Any) -> bool:
    """Whether the record's event forwarding service points elsewhere (or at something not made yet)."""
    current = (((record.get("data") or {}).get("settings") or {}).get(EVENT_FORWARDING_SERVICE) or {})
    wanted = {"enabled": True, "propertyId": property_id, "environmentId": environment_id}
    return any(current.get(key) != value for key, value in wanted.items())


def ensure_datastream(client: DatastreamClient, title: str, property_id: str, environment_id: str) -> DatastreamOutcome:
    """The datastream named ``title``, forwarding to the edge property's environment: found by
    title (so a rerun after a crash makes no second one), created, or pointed there."""
    forwarding = {"enabled": True, "propertyId": property_id, "environmentId": environment_id}
    record = client.find_by_title(title)
    if record is None:
        data = {"title": title, "enabled": True,
                "settings": {"input": {}, "user_agent_collection": {"enabled": True}, EVENT_FORWARDING_SERVICE: forwarding}}
        created = client.create(data)
        new_id = record_id(created)
        if not new_id:
            raise RemoteError("the datastream endpoint (undocumented) created a datastream but gave no id; "
                              f"look for {title!r} in Data Collection > Datastreams and pass --datastream-id")
        return DatastreamOutcome(new_id, "create")
    if not forwarding_differs(record, property_id, environment_id):
        return DatastreamOutcome(record_id(record), "unchanged")
    data = dict(record.get("data") or {})
    current = ((data.get("settings") or {}).get(EVENT_FORWARDING_SERVICE) or {})
    data["settings"] = dict(data.get("settings") or {})
    data["settings"][EVENT_FORWARDING_SERVICE] = {**current, **forwarding}
    client.replace(record_id(record), data)
    return DatastreamOutcome(record_id(record), "update")
