"""A plan as data: ``Change`` records (kind, name, action, old -> new values, the request that
carries it out, what it waits for) in a ``Plan``; what ``apply --plan --out`` saves and
``--plan-file`` reads. Built by quickstart/adobe/planner.py (apply) and publish.py (publish)."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

from quickstart.adobe.resources import path_references, references_in
from quickstart.adobe.spec import SCOPE_TITLES
from quickstart.errors import InputError

PLAN_FORMAT = "quickstart-apply-plan"
PLAN_VERSION = 1
DATASTREAM_KEY = "datastream"
ADD, CHANGE, REMOVE, DELETE = ("create",), ("update", "retry", "wait", "submit", "approve", "reject", "move"), \
    ("remove",), ("delete",)


@dataclass
class Diff:
    path: str  # settings.pixelId
    old: Any = None
    new: Any = None
    old_absent: bool = False
    new_absent: bool = False


@dataclass
class Change:
    key: str  # unique: "web.rule.MetaConversion_Purchase"
    scope: str  # edge | web | datastream
    kind: str  # property, host, environment, extension, secret, data element, rule, rule component, ...
    name: str
    action: str
    id: str | None = None  # what exists now
    diffs: list[Diff] = field(default_factory=list)
    detail: str = ""
    request: dict[str, Any] | None = None  # what executing it sends; None when there is nothing to do
    after: list[str] = field(default_factory=list)  # changes it waits for beyond the ones it refers to
    calls: int = 1  # API calls it makes (for the dependency floor)

    @property
    def needs(self) -> set[str]:
        request = self.request or {}
        return references_in(request) | path_references(str(request.get("path") or "")) | set(self.after)

    @property
    def label(self) -> str:
        verb = {"run": "build", "wait": "wait for", "retry": "retry", "move": "move"}.get(self.action, self.action)
        noun = {"build": "library ", "revision": ""}.get(self.kind, self.kind + " ")
        return f"{verb} {noun}{self.name} ({SCOPE_TITLES[self.scope]})"


@dataclass
class Plan:
    changes: list[Change]
    fingerprint: str  # of what Adobe held when the plan was made
    edge_name: str
    web_name: str
    library_name: str
    missing: list[str] = field(default_factory=list)  # inputs apply needs and does not have
    notes: list[str] = field(default_factory=list)
    only: str | None = None
    prune: bool = False
    datastream_id: str | None = None  # known, or None when the run creates it (or it is missing)
    target: str | None = None  # a publish plan's environment (staging, production); None: apply

    def counts(self) -> dict[str, int]:
        def count(actions: tuple[str, ...]) -> int:
            return sum(1 for c in self.changes if c.action in actions and c.kind != "build")
        return {"add": count(ADD), "change": count(CHANGE), "remove": count(REMOVE), "delete": count(DELETE),
                "builds": sum(1 for c in self.changes if c.action == "run"),
                "unchanged": sum(1 for c in self.changes if c.action == "unchanged")}

    @property
    def has_changes(self) -> bool:
        return any(c.action != "unchanged" for c in self.changes)

    def to_dict(self) -> dict[str, Any]:
        return {"format": PLAN_FORMAT, "version": PLAN_VERSION, "fingerprint": self.fingerprint,
                "edge_name": self.edge_name, "web_name": self.web_name, "library_name": self.library_name,
                "missing": list(self.missing), "notes": list(self.notes), "only": self.only, "prune": self.prune,
                "datastream_id": self.datastream_id, "target": self.target, "counts": self.counts(),
                "changes": [asdict(c) for c in self.changes]}

    @classmethod
    def from_dict(cls, data: Any, source: str) -> "Plan":
        if not isinstance(data, dict) or data.get("format") != PLAN_FORMAT:
            raise InputError(f"{source} is not a plan saved by `quickstart apply --plan --out`")
        if data.get("version") != PLAN_VERSION:
            raise InputError(f"{source} is a version {data.get('version')!r} plan; this quickstart reads version {PLAN_VERSION}")
        try:
            changes = [Change(**{**c, "diffs": [Diff(**d) for d in c.get("diffs") or []]}) for c in data["changes"]]
            return cls(changes=changes, fingerprint=str(data["fingerprint"]), edge_name=str(data["edge_name"]),
                       web_name=str(data["web_name"]), library_name=str(data["library_name"]),
                       missing=list(data.get("missing") or []), notes=list(data.get("notes") or []),
                       only=data.get("only"), prune=bool(data.get("prune")), datastream_id=data.get("datastream_id"),
                       target=data.get("target"))
        except (KeyError, TypeError, ValueError):
            raise InputError(f"{source} is a damaged plan file; make a new one with `quickstart apply --plan --out`") from None


@dataclass
class Inputs:
    """What the planner is told besides the folder and the reading."""

    datastream_id: str | None = None
    create_datastream: bool = False
    only: str | None = None  # edge | web
    prune: bool = False
    secrets_available: frozenset[str] = frozenset()  # env names whose value apply has
    managed: dict[str, dict[str, set[str]]] = field(default_factory=dict)  # scope -> kind -> ids quickstart made


def change_key(scope: str, kind: str, name: str = "") -> str:
    """The address of a change: "web.rule.MetaConversion_Purchase", "edge.library"."""
    return f"{scope}.{kind.replace(' ', '_')}" + (f".{name}" if name else "")
