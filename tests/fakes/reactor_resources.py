"""The fake's resources: properties and their collections, heads, settings against the real
manifests' schemas, updates and revisions, search, delete (reference/adobe-reactor.md §2)."""

from __future__ import annotations

import copy
import json
from typing import Any

import jsonschema

from tests.fakes.adobe_common import (
    HEAD_TYPES,
    KINDS,
    LIBRARY_KINDS,
    SEARCH_MAX_SIZE,
    TRANSITIONS,
    ApiError,
    new_id,
    now,
    token12,
)


class Resources:
    """Mixed into FakeAdobe (tests/fakes/reactor.py), which holds the state."""

    def _create_property(self, company_id: str, data: dict[str, Any] | None) -> dict[str, Any]:
        attributes = dict((data or {}).get("attributes") or {})
        self._require(attributes, "name", "platform")
        if attributes["platform"] not in ("web", "mobile", "edge"):
            raise ApiError(422, "invalid", "Unprocessable Entity", "platform must be web, mobile or edge", "/data/attributes/platform")
        if attributes["platform"] == "web" and not attributes.get("domains"):
            raise ApiError(422, "required", "Unprocessable Entity", "domains are required for web properties", "/data/attributes/domains")
        self._unique([p for p in self.of_type("properties") if p["_company"] == company_id], attributes["name"], "properties")
        prop_id = new_id("PR")
        attributes.update({"token": token12(), "enabled": True, "development": bool(attributes.get("development", False)),
                           "created_at": now(), "updated_at": now()})
        self.resources[prop_id] = {"id": prop_id, "type": "properties", "attributes": attributes, "_company": company_id,
                                   "relationships": {"company": {"data": {"id": company_id, "type": "companies"}}}}
        core = self._package("core", attributes["platform"])
        self._insert_head("extensions", prop_id, self._extension_attributes(core, None, None),
                          {"extension_package": {"data": {"id": core["id"], "type": "extension_packages"}}})
        return self.resources[prop_id]

    def _package(self, name: str, platform: str) -> dict[str, Any]:
        candidates = [p for p in self.of_type("extension_packages") if p["attributes"]["name"] == name
                      and p["attributes"]["platform"] == platform]
        return max(candidates, key=lambda p: tuple(int(x) for x in p["attributes"]["version"].split(".")[:3]))

    def _property_collection(self, method: str, prop: dict[str, Any], kind: str, query: dict[str, list[str]],
                             data: dict[str, Any] | None) -> tuple[int, dict[str, str], Any]:
        owned = [r for r in self.resources.values() if r.get("_property") == prop["id"]]
        type_ = kind
        if method == "GET":
            if kind not in ("hosts", "environments", "extensions", "data_elements", "rules",
                            "secrets", "libraries"):
                raise ApiError(404, "not-found", "Record Not Found", f"no collection {kind}")
            if kind == "secrets" and prop["attributes"]["platform"] != "edge":
                return self._list([], query)
            return self._list([r for r in owned if r["type"] == type_], query)
        if method != "POST":
            raise ApiError(405, "method-not-allowed", "Method Not Allowed")
        if not isinstance(data, dict) or data.get("type") != kind:
            raise ApiError(409, "type-mismatch", "Conflict", f"data.type must be {kind}", "/data/type")
        attributes = dict(data.get("attributes") or {})
        relationships = data.get("relationships") or {}
        creator = getattr(self, f"_create_{kind}", None)
        if creator is None:
            raise ApiError(405, "method-not-allowed", "Method Not Allowed")
        return 201, {}, {"data": self._out(creator(prop, [r for r in owned if r["type"] == type_], attributes, relationships))}

    def _create_hosts(self, prop, existing, attributes, relationships):
        self._require(attributes, "name", "type_of")
        if attributes["type_of"] not in ("akamai", "sftp"):
            raise ApiError(422, "invalid", "Unprocessable Entity", "type_of must be akamai or sftp", "/data/attributes/type_of")
        if attributes["type_of"] == "akamai" and any(h["attributes"]["type_of"] == "akamai" for h in existing):
            raise ApiError(409, "not-unique", "Conflict", "only one akamai host is allowed per property", "/data/attributes/type_of")
        self._unique(existing, attributes["name"], "hosts")
        attributes.update({"status": "succeeded", "created_at": now(), "updated_at": now()})
        return self._insert("hosts", "HT", prop["id"], attributes, {})

    def _create_environments(self, prop, existing, attributes, relationships):
        self._require(attributes, "name", "stage")
        if attributes["stage"] not in ("development", "staging", "production"):
            raise ApiError(422, "invalid", "Unprocessable Entity", "stage must be development, staging or production",
                           "/data/attributes/stage")
        host = self._rel(relationships, "host", "hosts", prop)
        if attributes["stage"] != "development" and any(e["attributes"]["stage"] == attributes["stage"] for e in existing):
            raise ApiError(409, "not-unique", "Conflict", f"only one {attributes['stage']} environment can be added to a property",
                           "/data/attributes/stage")
        self._unique(existing, attributes["name"], "environments")
        token = token12()
        company = self.resources[prop["_company"]]
        library_path = f"{company['attributes']['token']}/{prop['attributes']['token']}"
        library_name = f"launch-{token}-{attributes['stage']}.min.js"
        attributes.update({
            "token": token, "status": "succeeded", "archive": False, "path": None,
            "library_path": library_path, "library_name": library_name,
            "library_entry_points": [
                {"library_name": library_name, "minified": True, "references": [f"{library_path}/{library_name}"],
                 "license_path": f"{library_path}/{library_name.replace('.min.js', '.js')}"},
                {"library_name": library_name.replace(".min.js", ".js"), "minified": False,
                 "references": [f"{library_path}/{library_name.replace('.min.js', '.js')}"]}],
            "created_at": now(), "updated_at": now()})
        return self._insert("environments", "EN", prop["id"], attributes,
                            {"host": {"data": {"id": host["id"], "type": "hosts"}}, "library": {"data": None}})

    def _validate_settings(self, package: dict[str, Any], descriptor: str | None, raw: Any, kind: str) -> Any:
        if raw is None:
            return None
        if not isinstance(raw, str):
            raise ApiError(400, "invalid-settings-syntax", "Bad Request", "settings must be a JSON-encoded string",
                           "/data/attributes/settings")
        try:
            settings = json.loads(raw)
        except ValueError:
            raise ApiError(400, "invalid-settings-syntax", "Bad Request",
                           "A syntax error was encountered while parsing the settings JSON.", "/data/attributes/settings") from None
        if not descriptor:
            raise ApiError(409, "invalid", "Conflict", "delegate_descriptor_id is required when settings are present",
                           "/data/attributes/delegate_descriptor_id")
        schema = self._descriptor_schema(package, descriptor, kind)
        errors = sorted(jsonschema.Draft4Validator(schema).iter_errors(settings), key=lambda e: list(e.absolute_path))
        if errors:
            error = errors[0]
            where = "/".join(str(p) for p in error.absolute_path)
            raise ApiError(409, "invalid-settings", "Conflict", f"settings {('at ' + where + ' ') if where else ''}{error.message}",
                           "/data/attributes/settings" + (f"/{where}" if where else ""))
        return settings

    def _descriptor_schema(self, package: dict[str, Any], descriptor: str, kind: str) -> dict[str, Any]:
        name = package["attributes"]["name"]
        parts = descriptor.split("::")
        if len(parts) != 3 or parts[0] != name:
            raise ApiError(409, "delegate-descriptor-unresolved", "Conflict",
                           f"{descriptor} does not belong to the {name} extension", "/data/attributes/delegate_descriptor_id")
        if parts[1] == "extensionConfiguration":
            config = package["attributes"]["configuration"]
            if kind != "extensions" or not config or config["id"] != descriptor:
                raise ApiError(409, "delegate-descriptor-unresolved", "Conflict", f"{descriptor} is not defined",
                               "/data/attributes/delegate_descriptor_id")
            return config["schema"]
        allowed = {"data_elements": ("dataElements",), "rule_components": ("events", "conditions", "actions")}.get(kind, ())
        if parts[1] not in allowed:
            raise ApiError(409, "delegate-descriptor-unresolved", "Conflict", f"{descriptor} cannot be used for {kind}",
                           "/data/attributes/delegate_descriptor_id")
        for item in package["attributes"][KINDS[parts[1]]] or []:
            if item["id"] == descriptor:
                return item["schema"]
        raise ApiError(409, "delegate-descriptor-unresolved", "Conflict",
                       f"The extension did not provide the expected definition of {descriptor}.",
                       "/data/attributes/delegate_descriptor_id")

    def _extension_attributes(self, package: dict[str, Any], descriptor: str | None, settings: Any) -> dict[str, Any]:
        a = package["attributes"]
        return {"name": a["name"], "display_name": a["display_name"], "version": a["version"], "platform": a["platform"],
                "delegate_descriptor_id": descriptor, "settings": settings, "enabled": True}

    def _extension_package_of(self, extension: dict[str, Any]) -> dict[str, Any]:
        return self.resources[extension["relationships"]["extension_package"]["data"]["id"]]

    def _create_extensions(self, prop, existing, attributes, relationships):
        package = self._rel(relationships, "extension_package", "extension_packages", prop)
        if package["attributes"]["platform"] != prop["attributes"]["platform"]:
            raise ApiError(409, "invalid-extension", "Conflict",
                           f"the {package['attributes']['name']} package is for {package['attributes']['platform']} properties",
                           "/data/relationships/extension_package")
        if any(e["attributes"]["name"] == package["attributes"]["name"] and e["attributes"]["revision_number"] == 0 for e in existing):
            raise ApiError(409, "not-unique", "Conflict", f"the {package['attributes']['name']} extension is already installed",
                           "/data/relationships/extension_package")
        descriptor = attributes.get("delegate_descriptor_id")
        self._validate_settings(package, descriptor, attributes.get("settings"), "extensions")
        ext_attributes = self._extension_attributes(package, descriptor, attributes.get("settings"))
        ext_attributes["enabled"] = attributes.get("enabled", True)
        return self._insert_head("extensions", prop["id"], ext_attributes,
                                 {"extension_package": {"data": {"id": package["id"], "type": "extension_packages"}}})

    def _create_data_elements(self, prop, existing, attributes, relationships):
        self._require(attributes, "name", "delegate_descriptor_id")
        extension = self._rel(relationships, "extension", "extensions", prop)
        self._unique(existing, attributes["name"], "data_elements")
        self._validate_settings(self._extension_package_of(extension), attributes["delegate_descriptor_id"],
                                attributes.get("settings"), "data_elements")
        kept = {k: attributes.get(k) for k in ("name", "delegate_descriptor_id", "settings", "default_value",
                                                 "storage_duration", "force_lower_case", "clean_text")}
        kept["enabled"] = attributes.get("enabled", True)
        return self._insert_head("data_elements", prop["id"], kept,
                                 {"extension": {"data": {"id": extension["id"], "type": "extensions"}}})

    def _create_rules(self, prop, existing, attributes, relationships):
        self._require(attributes, "name")
        self._unique(existing, attributes["name"], "rules")
        return self._insert_head("rules", prop["id"], {"name": attributes["name"], "enabled": attributes.get("enabled", True)}, {})

    def _create_rule_components(self, prop, existing, attributes, relationships):
        self._require(attributes, "name", "delegate_descriptor_id")
        extension = self._rel(relationships, "extension", "extensions", prop)
        rules_data = (relationships.get("rules") or {}).get("data")
        if not isinstance(rules_data, list) or not rules_data:
            raise ApiError(422, "required", "Unprocessable Entity", "the rules relationship is required", "/data/relationships/rules")
        rules = []
        for item in rules_data:
            rule = self.resources.get(item.get("id"))
            if rule is None or rule["type"] != "rules" or rule.get("_property") != prop["id"]:
                raise ApiError(404, "not-found", "Record Not Found", "no such rule in this property", "/data/relationships/rules")
            rules.append(rule)
        self._validate_settings(self._extension_package_of(extension), attributes["delegate_descriptor_id"],
                                attributes.get("settings"), "rule_components")
        kept = {k: attributes.get(k) for k in ("name", "delegate_descriptor_id", "settings", "order", "rule_order",
                                                 "negate", "timeout", "delay_next")}
        kept["order"] = kept["order"] if kept["order"] is not None else 0
        kept["rule_order"] = kept["rule_order"] if kept["rule_order"] is not None else 50.0
        kept["negate"] = bool(kept["negate"])
        component = self._insert_head("rule_components", prop["id"], kept,
                                      {"extension": {"data": {"id": extension["id"], "type": "extensions"}},
                                       "rules": {"data": [{"id": r["id"], "type": "rules"} for r in rules]}})
        component["_rules"] = [r["id"] for r in rules]
        for rule in rules:
            self._touch(rule)
        return component

    def _create_secrets(self, prop, existing, attributes, relationships):
        if prop["attributes"]["platform"] != "edge":
            raise ApiError(409, "invalid-platform", "Conflict", "secrets exist only in event forwarding (edge) properties")
        self._require(attributes, "name", "type_of")
        environment = self._rel(relationships, "environment", "environments", prop)
        self._unique(existing, attributes["name"], "secrets")
        credentials = attributes.get("credentials") or {}
        if attributes["type_of"] == "token":
            if not isinstance(credentials.get("token"), str) or not credentials["token"]:
                raise ApiError(422, "required", "Unprocessable Entity", "credentials.token is required",
                               "/data/attributes/credentials/token")
            self.received_secret_values.append(credentials["token"])
        secret = self._insert("secrets", "SE", prop["id"], {
            "name": attributes["name"], "type_of": attributes["type_of"], "status": "pending", "credentials": {},
            "activated_at": None, "expires_at": None, "refresh_at": None, "created_at": now(), "updated_at": now()},
            {"environment": {"data": {"id": environment["id"], "type": "environments"},
                             "meta": {"stage": environment["attributes"]["stage"]}}})
        secret["_polls"] = self.secret_polls
        secret["_outcome"] = self.next_secret_outcome
        return secret

    def _patch(self, resource: dict[str, Any], data: dict[str, Any] | None) -> dict[str, Any]:
        if not isinstance(data, dict) or data.get("id") != resource["id"] or data.get("type") != resource["type"]:
            raise ApiError(409, "id-mismatch", "Conflict", "data.id and data.type must match the path", "/data/id")
        action = (data.get("meta") or {}).get("action")
        attributes = dict(data.get("attributes") or {})
        type_ = resource["type"]
        if action == "revise":
            if type_ not in HEAD_TYPES:
                raise ApiError(409, "invalid-action", "Conflict", f"{type_} cannot be revised", "/data/meta/action")
            return self._revise(resource)
        if action == "retry" and type_ == "secrets":
            resource["attributes"]["status"] = "pending"
            resource["_polls"] = self.secret_polls
            resource["_outcome"] = self.next_secret_outcome
            return resource
        if action:
            if type_ == "libraries" and action in TRANSITIONS:
                return self._transition(resource, action)
            raise ApiError(409, "invalid-action", "Conflict", f"unknown action {action}", "/data/meta/action")
        if resource["attributes"].get("revision_number", 0) > 0:
            raise ApiError(409, "read-only", "Conflict", "This resource is read-only and cannot be modified.", "/data")
        prop = self.resources.get(resource.get("_property", ""), {})
        if type_ == "properties":
            for forbidden in ("platform",):
                if forbidden in attributes and attributes[forbidden] != resource["attributes"][forbidden]:
                    raise ApiError(409, "read-only", "Conflict", "platform cannot change", f"/data/attributes/{forbidden}")
            if "name" in attributes and attributes["name"] != resource["attributes"]["name"]:
                self._unique([p for p in self.of_type("properties") if p["_company"] == resource["_company"]],
                             attributes["name"], "properties")
        elif type_ in ("extensions", "data_elements", "rule_components"):
            extension = resource if type_ == "extensions" else self.resources[resource["relationships"]["extension"]["data"]["id"]]
            rels = data.get("relationships") or {}
            if type_ != "extensions" and rels.get("extension"):
                extension = self._rel(rels, "extension", "extensions", prop)
                resource["relationships"]["extension"] = {"data": {"id": extension["id"], "type": "extensions"}}
            descriptor = attributes.get("delegate_descriptor_id", resource["attributes"].get("delegate_descriptor_id"))
            settings = attributes.get("settings", resource["attributes"].get("settings"))
            self._validate_settings(self._extension_package_of(extension), descriptor, settings, type_)
            if type_ == "data_elements" and "name" in attributes and attributes["name"] != resource["attributes"]["name"]:
                self._unique([d for d in self.of_type("data_elements") if d.get("_property") == prop["id"]], attributes["name"], type_)
        elif type_ == "rules":
            if "name" in attributes and attributes["name"] != resource["attributes"]["name"]:
                self._unique([d for d in self.of_type("rules") if d.get("_property") == prop["id"]], attributes["name"], type_)
        elif type_ not in ("environments", "hosts", "libraries"):
            raise ApiError(405, "method-not-allowed", "Method Not Allowed", f"{type_} cannot be updated")
        resource["attributes"].update(attributes)
        resource["attributes"]["updated_at"] = now()
        if type_ in HEAD_TYPES:
            self._touch(resource)
        if type_ == "rule_components":
            for rule_id in resource.get("_rules", []):
                self._touch(self.resources[rule_id])
        return resource

    def _revise(self, head: dict[str, Any]) -> dict[str, Any]:
        if head["attributes"]["revision_number"] != 0:
            raise ApiError(409, "invalid-action", "Conflict", "only a head can be revised", "/data/meta/action")
        number = head["meta"]["latest_revision_number"] + 1
        prefix = head["id"][:2]
        revision = copy.deepcopy(head)
        revision["id"] = new_id(prefix)
        revision["attributes"].update({"revision_number": number, "dirty": False, "created_at": now()})
        revision["relationships"]["origin"] = {"data": {"id": head["id"], "type": head["type"]}}
        revision["meta"] = {}
        if head["type"] == "rules":
            revision["_components"] = [copy.deepcopy(c) for c in self.components_of(head["id"])]
        self.resources[revision["id"]] = revision
        head["meta"]["latest_revision_number"] = number
        head["attributes"]["dirty"] = False
        return revision

    def _search(self, data: dict[str, Any] | None) -> tuple[int, dict[str, str], Any]:
        """Read-only structured query over the company's resources: exact values, ``exists``."""
        data = data if isinstance(data, dict) else {}
        query = data.get("query")
        if not isinstance(query, dict) or not query:
            raise ApiError(422, "invalid-query", "Unprocessable Entity", "a search needs a query", "/data/query")
        try:
            start, size = int(data.get("from", 0)), int(data.get("size", 25))
        except (TypeError, ValueError):
            raise ApiError(422, "invalid", "Unprocessable Entity", "from and size are numbers") from None
        if not 1 <= size <= SEARCH_MAX_SIZE or start < 0:
            raise ApiError(422, "invalid", "Unprocessable Entity", f"size must be 1..{SEARCH_MAX_SIZE}", "/data/size")
        types = data.get("resource_types") or []
        company_props = {p["id"] for p in self.of_type("properties") if p["_company"] == self.company_id}
        found = [r for r in self.resources.values()
                 if r.get("_property") in company_props and (not types or r["type"] in types)
                 and all(self._matches(r, name, clause) for name, clause in query.items())]
        found.sort(key=lambda r: r["attributes"].get("created_at") or "")
        page = found[start:start + size]
        return 200, {}, {"data": [self._out(r) for r in page], "meta": {"total_hits": len(found)}}

    @staticmethod
    def _matches(resource: dict[str, Any], name: str, clause: Any) -> bool:
        if not isinstance(clause, dict):
            raise ApiError(422, "invalid-query", "Unprocessable Entity", f"query.{name} must be an object", "/data/query")
        parts = name.split(".")
        if parts == ["id"] or parts == ["type"]:
            values = [resource[parts[0]]]
        elif parts[0] == "attributes" and len(parts) == 2:
            values = [resource["attributes"].get(parts[1])] if parts[1] in resource["attributes"] else []
        elif parts[0] == "relationships" and len(parts) == 4 and parts[2:] == ["data", "id"]:
            rel = (resource.get("relationships") or {}).get(parts[1]) or {}
            data = rel.get("data")
            values = [d.get("id") for d in data] if isinstance(data, list) else [data.get("id")] if isinstance(data, dict) else []
        else:
            raise ApiError(422, "invalid-query", "Unprocessable Entity", f"cannot search on {name}", "/data/query")
        if "exists" in clause:
            return bool(values) == bool(clause["exists"])
        wanted = clause.get("value")
        wanted = wanted if isinstance(wanted, list) else [wanted]

        def text(value: Any) -> str:
            return str(value).lower() if isinstance(value, bool) else str(value)

        hits = [any(text(v) == text(w) for v in values) for w in wanted]
        return all(hits) if clause.get("value_operator") == "AND" else any(hits)

    def _delete(self, head: dict[str, Any]) -> None:
        if head["attributes"].get("revision_number", 0) != 0:
            raise ApiError(409, "read-only", "Conflict", "only a head can be deleted", "/data")
        for library in self.of_type("libraries"):
            if library["attributes"]["state"] == "development" and head["type"] in LIBRARY_KINDS:
                for item_id in library["_resources"][head["type"]]:
                    if self.resources[item_id]["relationships"]["origin"]["data"]["id"] == head["id"]:
                        raise ApiError(409, "in-use", "Conflict",
                                       f"{head['type']} {head['id']} is in library {library['attributes']['name']}; remove it first")
        doomed = [head["id"]]
        if head["type"] == "rules":  # its components go with it
            doomed += [c["id"] for c in self.components_of(head["id"])]
        if head["type"] == "rule_components":
            for rule_id in head.get("_rules", []):
                self._touch(self.resources[rule_id])
        for resource_id in doomed:
            del self.resources[resource_id]
