"""``quickstart publish``: the development library through staging to production, Adobe's flow.

Pure, like the apply planner: ``plan_publish`` turns what Adobe holds into a ``Plan`` of library
transitions and builds (reference §2.10, §2.11), for the event forwarding property first (the
Tags property's events need somewhere to go), then the Tags property:

- ``--to staging``: the development library (built) is submitted, given the staging
  environment and built there;
- ``--to production``: the library on staging (built there) is approved, given the production
  environment and built there (it is then published).

Gates, each a refusal that changes nothing: the folder's changes must be applied (the apply plan
is empty), the library must have built where it comes from, and production takes only what was
built on staging, with nothing newer waiting in development. A rerun of a finished publish plans
nothing; a publish that stopped half way (submitted, not yet on staging) continues where it stopped.
"""

from __future__ import annotations

from typing import Any

from quickstart.adobe.holdings import LIBRARY_KINDS, Holdings, Reading
from quickstart.adobe.plan import Change, Plan, change_key
from quickstart.adobe.reactor import related_id
from quickstart.adobe.resources import attrs, name_of, origin_of
from quickstart.adobe.spec import SCOPE_TITLES, Folder
from quickstart.errors import RefusedError

TARGETS = ("staging", "production")
# The library state before and after each step, and the environment that state may hold.
FLOW = {"staging": {"from": "development", "action": "submit", "state": "submitted"},
        "production": {"from": "staging", "action": "approve", "state": "approved"}}


def _built(library: dict[str, Any] | None) -> bool:
    return bool(library) and (library.get("meta") or {}).get("build_status") == "succeeded" \
        and not attrs(library).get("build_required")


def _revisions(contents: dict[str, list[dict[str, Any]]]) -> set[tuple[str, str, Any]]:
    """What a library holds, as (kind, origin, revision number): comparable across libraries."""
    return {(kind, origin_of(item) or "", attrs(item).get("revision_number"))
            for kind in LIBRARY_KINDS for item in contents.get(kind, [])}


def _plan_property(folder: Folder, held: Holdings, scope: str, target: str, after: list[str]) -> list[Change]:
    title = SCOPE_TITLES[scope]
    name = folder.library_name
    if held.prop is None or held.environment(target) is None:
        raise RefusedError(f"the {title} has no {target} environment yet: run `quickstart apply {folder.path}` first "
                           "(it creates the staging and production environments); nothing was changed")
    flow = FLOW[target]
    source = held.library_on(flow["from"]) if flow["from"] != "development" else held.development_library(name)
    current = held.library_on(target)
    # A publish that stopped between the transition and the environment: the library has its new
    # state and no environment yet.
    halfway = next((lb for lb in held.libraries if name_of(lb) == name and not related_id(lb, "environment")
                    and attrs(lb).get("state") == flow["state"]), None)
    key = change_key(scope, "library")
    changes: list[Change] = []
    if halfway is not None:
        library = halfway
    elif source is not None and source is not current:
        if target == "staging" and not _built(source):
            raise RefusedError(f"the {title}'s development library has not built successfully: run "
                               f"`quickstart apply {folder.path}` first; nothing was changed")
        if target == "production":
            _production_gates(folder, held, title, source)
        library = source
        changes.append(Change(key, scope, "library", name_of(source), flow["action"], id=source["id"],
                              detail=f"{attrs(source).get('state') or flow['from']} -> {flow['state']}",
                              request={"op": "transition", "id": source["id"], "action": flow["action"]},
                              after=list(after)))
    elif current is not None and _built(current) and attrs(current).get("state") in (flow["state"], "published"):
        if target == "production" and held.development_library(name) is not None:
            raise RefusedError(f"the {title}'s development library holds changes that were not built on staging: "
                               f"run `quickstart publish {folder.path} --to staging` first; nothing was changed")
        return [Change(key, scope, "library", name_of(current), "unchanged", id=current["id"],
                       detail=f"on {target}, built")]
    elif current is not None and attrs(current).get("state") == flow["state"]:
        library = current  # on the environment already, its build missing or failed: build again
    elif target == "staging" and (published := _published(held)) is not None:
        return [Change(key, scope, "library", name_of(published), "unchanged", id=published["id"],
                       detail="published; nothing new in development since")]
    else:
        where = (f"`quickstart apply {folder.path}` first" if target == "staging"
                 else f"`quickstart publish {folder.path} --to staging` first (Adobe's flow: production takes only "
                      "what staging built)")
        raise RefusedError(f"the {title} has nothing built on {flow['from']} to publish to {target}: run {where}; "
                           "nothing was changed")

    environment = held.environment(target)
    if related_id(library, "environment") != environment["id"]:
        if current is not None and current["id"] != library["id"] and attrs(current).get("state") == "submitted":
            # An older library holds staging and never went further: rejected, the environment is free.
            changes.append(Change(change_key(scope, "library", f"{name_of(current)} (older)"), scope, "library",
                                  f"{name_of(current)} (older, on {target})", "reject", id=current["id"],
                                  detail="it never reached production; rejecting frees the staging environment",
                                  request={"op": "transition", "id": current["id"], "action": "reject"},
                                  after=list(after)))
        changes.append(Change(change_key(scope, "environment", target), scope, "library", name_of(library), "move",
                              id=library["id"], detail=f"to the {target} environment",
                              request={"op": "environment", "id": library["id"], "environment": environment["id"]},
                              after=[c.key for c in changes] or list(after)))
    build = Change(change_key(scope, "build", target), scope, "build", f"{name_of(library)} on {target}", "run",
                   detail=target, calls=2, request={"op": "build", "library": library["id"]},
                   after=[c.key for c in changes] or list(after))
    changes.append(build)
    return changes


def _published(held: Holdings) -> dict[str, Any] | None:
    """The library on production, when it is published."""
    on_production = held.library_on("production")
    return on_production if attrs(on_production).get("state") == "published" else None


def _production_gates(folder: Folder, held: Holdings, title: str, staged: dict[str, Any]) -> None:
    """Production takes only what was built on staging, with nothing newer waiting in development."""
    if attrs(staged).get("state") != "submitted" or not _built(staged):
        raise RefusedError(f"the {title}'s library on staging has not built successfully there: run "
                           f"`quickstart publish {folder.path} --to staging` again; nothing was changed")
    development = held.development_library(folder.library_name)
    if development is not None and _revisions(held.library_contents) != _revisions(held.staged_contents):
        raise RefusedError(f"the {title}'s development library holds changes that were not built on staging: "
                           f"run `quickstart publish {folder.path} --to staging` first; nothing was changed")


def plan_publish(folder: Folder, reading: Reading, target: str, *, pending: Plan) -> Plan:
    """The publish plan for ``target``; ``pending`` is apply's plan, which must be empty."""
    if target not in TARGETS:
        raise RefusedError(f"--to takes staging or production, not {target!r}")
    unapplied = [c for c in pending.changes if c.action not in ("unchanged",)]
    if unapplied:
        first = unapplied[0]
        raise RefusedError(f"the folder has changes that are not applied ({len(unapplied)}, e.g. "
                           f"{first.label}): run `quickstart apply {folder.path}` first, so what you "
                           "publish is what the folder says; nothing was changed")
    edge = _plan_property(folder, reading.edge, "edge", target, after=[])
    # The Tags side goes second: its events must have somewhere to go.
    edge_last = [c.key for c in edge if c.action != "unchanged"][-1:]
    web = _plan_property(folder, reading.web, "web", target, after=edge_last)
    notes = []
    if target == "production":
        notes += _datastream_notes(folder)
    return Plan(changes=edge + web, fingerprint=reading.fingerprint, edge_name=folder.edge.name,
                web_name=folder.web.name, library_name=folder.library_name, notes=notes,
                datastream_id=folder.datastream_id(), target=target)


def _datastream_notes(folder: Folder) -> list[str]:
    answers = folder.answers_values or {}
    if answers.get("production_datastream_id"):
        return []
    return ["production uses the same datastream as development, which forwards to the event forwarding property's "
            "development environment: give production its own (`quickstart update --production-datastream-id ID`, "
            "a datastream pointing at the Production environment)"]
