"""The fake's libraries: contents, the publishing states and transitions, environments, builds."""

from __future__ import annotations

import json
from typing import Any


from tests.fakes.adobe_common import (
    LIBRARY_KINDS,
    STATE_STAGES,
    TRANSITIONS,
    ApiError,
    now,
)


class Libraries:
    """Mixed into FakeAdobe (tests/fakes/reactor.py), which holds the state."""

    def _create_libraries(self, prop, existing, attributes, relationships):
        self._require(attributes, "name")
        library = self._insert("libraries", "LB", prop["id"], {
            "name": attributes["name"], "state": "development", "published_at": None, "build_required": True,
            "created_at": now(), "updated_at": now()}, {"environment": {"data": None}, "last_build": {"data": None}})
        library["_resources"] = {kind: [] for kind in LIBRARY_KINDS}
        library["_built_on"] = None  # the stage of its last successful build
        library["meta"] = {"build_status": None, "build_required_detail": "No build found since last state change"}
        try:
            environment = self._rel(relationships, "environment", "environments", prop, required=False)
            if environment is not None:
                self._attach_environment(library, environment)
            for kind in LIBRARY_KINDS:
                items = (relationships.get(kind) or {}).get("data")
                if items:
                    self._library_add(library, kind, items, replace=False)
        except ApiError:
            del self.resources[library["id"]]  # the create is all or nothing
            raise
        return library

    def _attach_environment(self, library: dict[str, Any], environment: dict[str, Any]) -> None:
        holder = environment["relationships"]["library"]["data"]
        if holder and holder["id"] != library["id"] and holder["id"] in self.resources:
            previous = self.resources[holder["id"]]
            if previous["attributes"]["state"] != "published":  # a newer library replaces the published one
                raise ApiError(409, "environment-in-use", "Conflict",
                               "An Environment can only be assigned to one Library at a time.", "/data/relationships/environment")
            previous["relationships"]["environment"]["data"] = None
        old = library["relationships"]["environment"]["data"]
        if old:
            self.resources[old["id"]]["relationships"]["library"]["data"] = None
        library["relationships"]["environment"]["data"] = {"id": environment["id"], "type": "environments"}
        environment["relationships"]["library"]["data"] = {"id": library["id"], "type": "libraries"}
        library["attributes"]["build_required"] = True

    def _library_add(self, library: dict[str, Any], kind: str, items: list[dict[str, Any]], replace: bool) -> None:
        prop = self.resources[library["_property"]]
        chosen = [] if replace else list(library["_resources"][kind])
        for item in items:
            target = self.resources.get(item.get("id"))
            if target is None or target["type"] != kind or target.get("_property") != prop["id"]:
                raise ApiError(404, "not-found", "Record Not Found", f"no {kind} {item.get('id')} in this property",
                               f"/data/relationships/{kind}")
            if target["attributes"]["revision_number"] == 0:
                if (item.get("meta") or {}).get("action") != "revise":
                    raise ApiError(409, "revision-required", "Conflict",
                                   f"{kind} {target['id']} needs to be revised before it can be added to a library",
                                   f"/data/relationships/{kind}")
                target = self._revise(target)
            chosen.append(target["id"])
        origins = [self.resources[i]["relationships"]["origin"]["data"]["id"] for i in chosen]
        if len(set(origins)) != len(origins):
            raise ApiError(409, "multiple-revisions", "Conflict", "Only one revision of each resource can be included in a library.",
                           f"/data/relationships/{kind}")
        library["_resources"][kind] = chosen
        library["attributes"]["build_required"] = True

    def _transition(self, library: dict[str, Any], action: str) -> dict[str, Any]:
        """develop | submit | approve | reject (ADOCS libraries.md, transition.md); a wrong one is a 409.
        A library leaves its environment when its state changes (each state holds only its own stage's)."""
        allowed, new_state = TRANSITIONS[action]
        state = library["attributes"]["state"]
        if state not in allowed:
            raise ApiError(409, "invalid-transition", "Conflict",
                           f"a library in state {state} cannot {action} (from: {', '.join(allowed)})", "/data/meta/action")
        needed = {"submit": "development", "approve": "staging"}.get(action)
        if needed and (library["meta"].get("build_status") != "succeeded" or library["_built_on"] != needed):
            raise ApiError(409, "build-required", "Conflict",
                           f"a library needs a successful build on {needed} before it can {action}", "/data/meta/action")
        self._detach_environment(library)
        library["attributes"]["state"] = new_state
        library["attributes"]["updated_at"] = now()
        library["meta"]["build_status"] = None
        library["attributes"]["build_required"] = True
        return library

    def _detach_environment(self, library: dict[str, Any]) -> None:
        old = library["relationships"]["environment"]["data"]
        if old:
            self.resources[old["id"]]["relationships"]["library"]["data"] = None
        library["relationships"]["environment"]["data"] = None

    def _library_relationship(self, method: str, library: dict[str, Any], kind: str, data: Any) -> tuple[int, dict[str, str], Any]:
        prop = self.resources[library["_property"]]
        if kind == "environment":
            if method not in ("POST", "PATCH") or not isinstance(data, dict):
                raise ApiError(405, "method-not-allowed", "Method Not Allowed")
            environment = self._rel({"environment": {"data": data}}, "environment", "environments", prop)
            stage = STATE_STAGES.get(library["attributes"]["state"])
            if environment["attributes"]["stage"] != stage:
                raise ApiError(409, "invalid-environment", "Conflict",
                               f"a library in state {library['attributes']['state']} can only be assigned a {stage} "
                               "environment", "/data/relationships/environment")
            self._attach_environment(library, environment)
            return 200, {}, {"data": data}
        if library["attributes"]["state"] != "development":
            raise ApiError(409, "read-only", "Conflict", "only libraries in development can change")
        if kind not in LIBRARY_KINDS or not isinstance(data, list):
            raise ApiError(404, "not-found", "Record Not Found", f"no relationship {kind}")
        if method == "DELETE":
            remove = {item.get("id") for item in data}
            library["_resources"][kind] = [i for i in library["_resources"][kind] if i not in remove]
            library["attributes"]["build_required"] = True
        else:
            self._library_add(library, kind, data, replace=method == "PATCH")
        return 200, {}, {"data": [{"id": i, "type": kind} for i in library["_resources"][kind]]}

    def _create_build(self, library: dict[str, Any]) -> dict[str, Any]:
        environment_ref = library["relationships"]["environment"]["data"]
        if not environment_ref:
            raise ApiError(409, "environment-required", "Conflict",
                           "Your Library must have an Environment assigned before you can create a Build.")
        environment = self.resources[environment_ref["id"]]
        build = self._insert("builds", "BL", library["_property"], {"status": "pending", "created_at": now(), "updated_at": now()},
                             {"library": {"data": {"id": library["id"], "type": "libraries"}},
                              "environment": {"data": {"id": environment["id"], "type": "environments"}}})
        build["_polls"] = self.build_polls
        build["_problems"] = self._build_problems(library, environment)
        if self.next_build_outcome == "failed":
            build["_problems"].append({"code": "minification-error", "title": "Build failed", "detail": "forced by the test"})
        library["relationships"]["last_build"]["data"] = {"id": build["id"], "type": "builds"}
        library["meta"]["build_status"] = "pending"
        return build

    def _build_problems(self, library: dict[str, Any], environment: dict[str, Any]) -> list[dict[str, Any]]:
        problems = []
        contents = library["_resources"]
        package_names = {self.resources[i]["attributes"]["name"] for i in contents["extensions"]}
        users = [self.resources[i] for i in contents["data_elements"]]
        for rule_id in contents["rules"]:
            users.extend(self.resources[rule_id].get("_components", []))
        for user in users:
            extension = self.resources[user["relationships"]["extension"]["data"]["id"]]
            if extension["attributes"]["name"] not in package_names:
                problems.append({"code": "extension-not-found", "title": "Extension not found",
                                 "detail": f"{user['attributes']['name']} uses the {extension['attributes']['name']} extension, "
                                           "which is not in the library"})
        stage = environment["attributes"]["stage"]
        for element in users:
            if element["attributes"].get("delegate_descriptor_id") != "core::dataElements::secret":
                continue
            secrets = (json.loads(element["attributes"]["settings"] or "{}").get("secrets") or {})
            entry = secrets.get(stage)
            secret = self.resources.get((entry or {}).get("id", ""))
            if not entry or secret is None or secret["type"] != "secrets" or secret["attributes"]["status"] != "succeeded" \
                    or secret["relationships"]["environment"]["data"]["id"] != environment["id"]:
                problems.append({"code": "secret-required", "title": "Secret not available",
                                 "detail": f"{element['attributes']['name']} has no succeeded secret for the {stage} environment"})
        return problems

    def _finish(self, resource: dict[str, Any]) -> None:
        if resource["type"] == "secrets":
            outcome = resource["_outcome"]
            resource["attributes"]["status"] = outcome
            if outcome == "succeeded":
                resource["attributes"]["activated_at"] = now()
            else:
                resource["meta"]["status_details"] = {"errors": [{"code": "secret-exchange-failed", "title": "Exchange failed",
                                                                  "detail": "the credential exchange failed"}]}
            return
        library = self.resources[resource["relationships"]["library"]["data"]["id"]]
        if resource["_problems"]:
            resource["attributes"]["status"] = "failed"
            resource["meta"]["status_details"] = {"errors": resource["_problems"]}
            library["meta"]["build_status"] = "failed"
            return
        environment = self.resources[resource["relationships"]["environment"]["data"]["id"]]
        resource["attributes"]["status"] = "succeeded"
        library["_built_on"] = environment["attributes"]["stage"]
        if library["attributes"]["state"] == "approved" and environment["attributes"]["stage"] == "production":
            library["attributes"]["state"] = "published"  # built on production: live
            library["attributes"]["published_at"] = now()
        entry = environment["attributes"]["library_entry_points"][0]
        resource["meta"]["artifact_url"] = f"https://assets.adobedtm.com/{entry['references'][0]}"
        library["attributes"]["build_required"] = False
        library["meta"]["build_status"] = "succeeded"
