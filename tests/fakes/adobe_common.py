"""What the parts of the Adobe fake share: constants, the API error, small helpers."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

MANIFEST_DIR = Path(__file__).resolve().parents[2] / "quickstart" / "extension_manifests"

ORG_ID = "0123456789ABCDEF01234567@AdobeOrg"
CLIENT_ID = "quickstart-test-client"
CLIENT_SECRET = "p8e-test-client-secret-DO-NOT-LEAK"
DEFAULT_PAGE_SIZE = 25
KINDS = {"events": "events", "conditions": "conditions", "actions": "actions", "dataElements": "data_elements"}
LIBRARY_KINDS = ("extensions", "data_elements", "rules")
HEAD_TYPES = ("extensions", "data_elements", "rules")
DELETABLE = ("data_elements", "rules", "rule_components")  # ADOCS endpoints: DELETE /{type}/{id}
SEARCH_MAX_SIZE = 100
READ_ONLY_POSTS = ("/ims/token/v3", "/search")  # POSTs that change nothing
# action -> (the states it leaves, the state it makes); and the stage each state's environment has
TRANSITIONS = {"develop": (("submitted", "approved", "rejected"), "development"),
               "submit": (("development",), "submitted"),
               "approve": (("submitted",), "approved"),
               "reject": (("submitted", "approved"), "rejected")}
STATE_STAGES = {"development": "development", "submitted": "staging", "approved": "production"}


class ApiError(Exception):
    def __init__(self, status: int, code: str, title: str, detail: str = "", pointer: str | None = None,
                 headers: dict[str, str] | None = None):
        super().__init__(detail or title)
        self.status, self.code, self.title, self.detail, self.pointer = status, code, title, detail, pointer
        self.headers = headers or {}

    def body(self) -> dict[str, Any]:
        error: dict[str, Any] = {"id": str(uuid.uuid4()), "status": str(self.status), "code": self.code,
                                 "title": self.title, "meta": {"request_id": uuid.uuid4().hex}}
        if self.detail:
            error["detail"] = self.detail
        if self.pointer:
            error["source"] = {"pointer": self.pointer}
        return {"errors": [error]}


def now() -> str:
    return datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def new_id(prefix: str) -> str:
    return prefix + uuid.uuid4().hex


def token12() -> str:
    return uuid.uuid4().hex[:12]


@dataclass
class Call:
    method: str
    path: str
    query: dict[str, list[str]]
    body: bytes
