"""The apply planner: what ``apply`` would change in Adobe, from the folder and what Adobe holds.

Pure: no HTTP, no clock, no files. ``make_plan`` turns a loaded folder and a ``Reading`` into a
``Plan``, a list of ``Change`` records (kind, name, action; for an update the old and new value
of each changed attribute, settings compared as data), each carrying the request that carries it
out. Ids that do not exist yet are references (``{"$ref": KEY}``, ``{KEY}`` in paths) resolved
while executing, and a change waits for exactly the changes it refers to: rules name data
elements, they do not need their ids, so rules never wait for data elements.

Actions: ``create``, ``update``, ``remove`` (from the library), ``delete`` (``--prune``),
``revise`` (a new revision for the library), ``run`` (a build), ``wait``/``retry`` (a secret),
``unchanged``. The plan's data is in plan.py, the comparing in compare.py. Over 400 lines on
purpose: one planner walks one property's resources in dependency order, each kind a method.
"""

from __future__ import annotations

import json
from typing import Any

from quickstart import settings
from quickstart.adobe.holdings import LIBRARY_KINDS, Holdings, Reading
from quickstart.adobe.reactor import related_id
from quickstart.adobe.compare import attribute_diffs, changed_attributes, validate_against_package
from quickstart.adobe.plan import DATASTREAM_KEY, Change, Diff, Inputs, Plan, change_key
from quickstart.adobe.resources import attrs, is_reference, name_of, origin_of, reference
from quickstart.adobe.spec import SCOPE_TITLES, Folder, PropertySpec
from quickstart.blueprint.descriptors import ALLOY, CORE, SECRET_ELEMENT
from quickstart.errors import InputError, RemoteError

HOST_TYPE = "akamai"
# Optional attributes a file may set, compared and sent as given.
DATA_ELEMENT_ATTRIBUTES = ("default_value", "storage_duration", "force_lower_case", "clean_text", "enabled")
COMPONENT_ATTRIBUTES = ("order", "rule_order", "negate", "timeout", "delay_next")
KIND_OF_TYPE = {"extensions": "extension", "data_elements": "data element", "rules": "rule"}


# ---------------------------------------------------------------------------------------------
# One property


class _PropertyPlanner:
    def __init__(self, spec: PropertySpec, held: Holdings, company_id: str, library_name: str, inputs: Inputs,
                 datastream: Any):
        self.spec, self.held, self.inputs = spec, held, inputs
        self.scope = spec.scope
        self.company_id = company_id
        self.library_name = library_name
        self.datastream = datastream  # an id, a reference, or None
        self.changes: list[Change] = []
        self.notes: list[str] = []
        self.missing: list[str] = []
        self.property_key = f"{self.scope}.property"

    def key(self, kind: str, name: str = "") -> str:
        return change_key(self.scope, kind, name)

    def add(self, change: Change) -> Change:
        self.changes.append(change)
        return change

    def id_or_ref(self, key: str, resource: dict[str, Any] | None) -> Any:
        return resource["id"] if resource else reference(key)

    @property
    def property_ref(self) -> str:
        return self.held.property_id or "{" + self.property_key + "}"

    # -- the parts ---------------------------------------------------------------------------

    def property(self) -> None:
        wanted = dict(self.spec.doc["property"])
        name = self.spec.name
        if self.held.prop is None:
            self.add(Change(self.property_key, self.scope, "property", name, "create", request={
                "op": "create", "path": f"/companies/{self.company_id}/properties", "type": "properties",
                "attributes": wanted}))
            return
        settable = {k: v for k, v in wanted.items() if k not in ("name", "platform")}
        self.update_or_keep(self.property_key, "property", "properties", name, self.held.prop, settable)

    def update_or_keep(self, key: str, kind: str, type_: str, name: str, current: dict[str, Any], wanted: dict[str, Any],
                       *, more: list[Diff] | None = None, relationships: dict[str, Any] | None = None) -> Change:
        """An existing resource: an update of the attributes that differ (as data), or nothing."""
        diffs = attribute_diffs(current, wanted) + (more or [])
        change = self.add(Change(key, self.scope, kind, name, "update" if diffs else "unchanged", id=current["id"],
                                 diffs=diffs))
        if diffs:
            change.request = {"op": "update", "type": type_, "id": current["id"],
                              "attributes": changed_attributes(diffs, wanted) or {"name": name}}
            if relationships:
                change.request["relationships"] = relationships
        return change

    def host(self) -> Any:
        from quickstart.blueprint.common import DEVELOPMENT_ENVIRONMENT

        key = self.key("host")
        hosts = [h for h in self.held.hosts if attrs(h).get("type_of") == HOST_TYPE]
        if hosts:  # one akamai host per property: reuse it, whatever its name
            self.add(Change(key, self.scope, "host", name_of(hosts[0]), "unchanged", id=hosts[0]["id"]))
            return hosts[0]["id"]
        names = [env.get("host") for env in self.spec.items("environments") if env.get("host")]
        name = names[0] if names else DEVELOPMENT_ENVIRONMENT["host"]
        self.add(Change(key, self.scope, "host", name, "create", request={
            "op": "create", "path": f"/properties/{self.property_ref}/hosts", "type": "hosts",
            "attributes": {"name": name, "type_of": HOST_TYPE}}))
        return reference(key)

    def environments(self, host: Any) -> dict[str, Any]:
        """Stage -> the environment's id or reference (the first of each stage)."""
        by_stage: dict[str, Any] = {}
        existing = sorted(self.held.environments, key=lambda e: attrs(e).get("created_at") or "")
        for env in self.spec.items("environments"):
            name, stage = env["name"], env.get("stage", "development")
            key = self.key("environment", name)
            match = next((e for e in existing if name_of(e) == name and attrs(e).get("stage") == stage), None)
            if match is None and stage in ("staging", "production"):  # only one of each per property
                match = next((e for e in existing if attrs(e).get("stage") == stage), None)
            if match is not None:
                self.add(Change(key, self.scope, "environment", name, "unchanged", id=match["id"]))
                by_stage.setdefault(stage, match["id"])
                continue
            self.add(Change(key, self.scope, "environment", name, "create", detail=stage, request={
                "op": "create", "path": f"/properties/{self.property_ref}/environments", "type": "environments",
                "attributes": {"name": name, "stage": stage},
                "relationships": {"host": {"data": {"type": "hosts", "id": host}}}}))
            by_stage.setdefault(stage, reference(key))
        return by_stage

    def extension_settings(self, ext: dict[str, Any]) -> Any:
        """The Web SDK's instances point at the datastream apply knows wherever the file still
        says PENDING (or, for development, always: `--datastream-id` is development's)."""
        value = ext.get("settings")
        if ext.get("package") == ALLOY and isinstance(value, dict) and self.datastream is not None:
            value = json.loads(json.dumps(value))
            for instance in value.get("instances") or []:
                for stage, key in settings.EDGE_CONFIG_KEYS.items():
                    if stage == "development" or instance.get(key) in (None, "", settings.PENDING_DATASTREAM_ID):
                        instance[key] = self.datastream
        return value

    def extensions(self) -> dict[str, Any]:
        ids: dict[str, Any] = {}
        for ext in self.spec.items("extensions"):
            package_name = ext["package"]
            key = self.key("extension", package_name)
            wanted: dict[str, Any] = {}
            if ext.get("delegate_descriptor_id"):
                wanted["delegate_descriptor_id"] = ext["delegate_descriptor_id"]
                wanted["settings"] = self.extension_settings(ext)
            if "enabled" in ext:
                wanted["enabled"] = ext["enabled"]
            current = self.held.extensions.get(package_name)
            ids[package_name] = self.id_or_ref(key, current)
            if current is None and package_name == CORE and self.held.prop is None:
                # Reactor installs Core with a new property (reference §2.2): find it, then set what the file says.
                self.add(Change(key, self.scope, "extension", package_name, "create", detail="comes with the new property",
                                request={"op": "find_extension", "path": f"/properties/{self.property_ref}/extensions",
                                         "package": package_name, "attributes": wanted}, calls=2 if wanted else 1))
            elif current is None:
                package = self.held.packages.get(package_name) or {}
                self.add(Change(key, self.scope, "extension", package_name, "create", request={
                    "op": "create", "path": f"/properties/{self.property_ref}/extensions", "type": "extensions",
                    "attributes": wanted,
                    "relationships": {"extension_package": {"data": {"type": "extension_packages", "id": package.get("id")}}}}))
            else:
                self.update_or_keep(key, "extension", "extensions", package_name, current, wanted)
            if ext.get("delegate_descriptor_id"):
                self.check(package_name, ext["delegate_descriptor_id"], wanted["settings"], f"extension {package_name!r}")
        return ids

    def check(self, package_name: str, descriptor: str, value: Any, what: str) -> None:
        package = self.held.packages.get(package_name)
        if package is not None:
            validate_against_package(package, descriptor, value, f"{self.spec.file}: {what}")

    def secrets(self, stages: dict[str, Any]) -> dict[str, Any]:
        ids: dict[str, Any] = {}
        for secret in self.spec.items("secrets"):
            name = secret["name"]
            key = self.key("secret", name)
            stage = secret.get("environment", "development")
            env_name = secret.get("env") or settings.TOKEN_ENV
            if stage not in stages:
                raise InputError(f"{self.spec.file}: secret {name!r} is for the {stage} environment, which is not under environments:")
            current = self.held.secrets.get(name)
            if current is None:
                if env_name not in self.inputs.secrets_available:
                    self.missing.append(f"the access token (${env_name}, or {env_name} in the folder's .env): "
                                        f"it becomes the Adobe secret {name!r}")
                ids[name] = reference(key)
                self.add(Change(key, self.scope, "secret", name, "create", detail=f"from ${env_name}", calls=2, request={
                    "op": "secret", "path": f"/properties/{self.property_ref}/secrets", "env": env_name,
                    "attributes": {"name": name, "type_of": secret.get("type_of", "token")},
                    "relationships": {"environment": {"data": {"type": "environments", "id": stages[stage]}}}}))
                continue
            bound_to = related_id(current, "environment")
            if not is_reference(stages[stage]) and bound_to != stages[stage]:
                raise RemoteError(f"secret {name!r} exists but belongs to another environment ({bound_to}); secrets "
                                  f"cannot move: delete it in the Data Collection UI, or rename it in {self.spec.file}")
            ids[name] = current["id"]
            status = attrs(current).get("status")
            if status == "succeeded":
                self.add(Change(key, self.scope, "secret", name, "unchanged", id=current["id"]))
            elif status == "failed":
                self.add(Change(key, self.scope, "secret", name, "retry", id=current["id"], detail="retry the failed exchange",
                                calls=2, request={"op": "secret_retry", "id": current["id"],
                                                  "type_of": attrs(current).get("type_of", "token"), "env": env_name}))
            else:
                self.add(Change(key, self.scope, "secret", name, "wait", id=current["id"], detail=str(status),
                                request={"op": "secret_wait", "id": current["id"], "env": env_name}))
        return ids

    def element_settings(self, element: dict[str, Any], secret_ids: dict[str, Any]) -> Any:
        value = element.get("settings")
        if element.get("delegate_descriptor_id") != SECRET_ELEMENT:
            return value
        value = json.loads(json.dumps(value or {}))
        stages = value.setdefault("secrets", {})
        for secret in self.spec.items("secrets"):
            stages[secret.get("environment", "development")] = {"id": secret_ids[secret["name"]], "name": secret["name"]}
        return value

    def _item(self, kind: str, type_: str, key: str, name: str, current: dict[str, Any] | None, wanted: dict[str, Any],
              extension: Any, package_name: str, extra: dict[str, Any] | None = None) -> Change:
        relationships = {"extension": {"data": {"type": "extensions", "id": extension}}}
        if current is None:
            return self.add(Change(key, self.scope, kind, name, "create", request={
                "op": "create", "path": f"/properties/{self.property_ref}/{type_}", "type": type_, "attributes": wanted,
                "relationships": {**relationships, **(extra or {})}}))
        held_extension = related_id(current, "extension")
        moved = [Diff("extension", held_extension, package_name)] if is_reference(extension) or held_extension != extension else []
        return self.update_or_keep(key, kind, type_, name, current, wanted, more=moved, relationships=relationships)

    def data_elements(self, extensions: dict[str, Any], secret_ids: dict[str, Any]) -> list[Change]:
        changes = []
        for element in self.spec.items("data_elements"):
            name = element["name"]
            value = self.element_settings(element, secret_ids)
            wanted = {"name": name, "delegate_descriptor_id": element["delegate_descriptor_id"], "settings": value}
            wanted.update({k: element[k] for k in DATA_ELEMENT_ATTRIBUTES if k in element})
            self.check(element["extension"], element["delegate_descriptor_id"], value, f"data element {name!r}")
            changes.append(self._item("data element", "data_elements", self.key("data element", name), name,
                                      self.held.data_elements.get(name), wanted, extensions[element["extension"]],
                                      element["extension"]))
        return changes

    def rules(self, extensions: dict[str, Any]) -> list[tuple[Change, list[Change]]]:
        planned = []
        for rule in self.spec.items("rules"):
            name = rule["name"]
            key = self.key("rule", name)
            current = self.held.rules.get(name)
            wanted = {"name": name, "enabled": rule.get("enabled", True)}
            if current is None:
                rule_change = self.add(Change(key, self.scope, "rule", name, "create", request={
                    "op": "create", "path": f"/properties/{self.property_ref}/rules", "type": "rules", "attributes": wanted}))
            else:
                rule_change = self.update_or_keep(key, "rule", "rules", name, current, wanted)
            held_components = self.held.components.get(current["id"], {}) if current else {}
            rule_id = self.id_or_ref(key, current)
            components = []
            for component in rule.get("components") or []:
                label = f"{name} / {component['name']}"
                value = component.get("settings") or {}
                self.check(component["extension"], component["delegate_descriptor_id"], value,
                           f"rule {name!r} component {component['name']!r}")
                wanted_component = {"name": component["name"], "delegate_descriptor_id": component["delegate_descriptor_id"],
                                    "settings": value}
                wanted_component.update({k: component[k] for k in COMPONENT_ATTRIBUTES if k in component})
                components.append(self._item(
                    "rule component", "rule_components", self.key("rule component", label), label,
                    held_components.get(component["name"]), wanted_component, extensions[component["extension"]],
                    component["extension"], extra={"rules": {"data": [{"type": "rules", "id": rule_id}]}}))
            wanted_names = {c["name"] for c in rule.get("components") or []}
            for stray_name, stray in held_components.items():
                if stray_name not in wanted_names:
                    label = f"{name} / {stray_name}"
                    components.append(self.stray(self.key("rule component", label), "rule component", "rule_components",
                                                 label, stray))
            planned.append((rule_change, components))
        return planned

    def stray(self, key: str, kind: str, type_: str, name: str, resource: dict[str, Any]) -> Change:
        """Something quickstart made that the folder no longer wants: deleted with --prune only."""
        if self.inputs.prune:
            return self.add(Change(key, self.scope, kind, name, "delete", id=resource["id"],
                                   request={"op": "delete", "type": type_, "id": resource["id"]}))
        self.notes.append(f"{SCOPE_TITLES[self.scope]}: {kind} {name} is no longer in the folder; `--prune` deletes it")
        return Change(key, self.scope, kind, name, "unchanged", id=resource["id"])

    # -- library and build -------------------------------------------------------------------

    def library(self, stages: dict[str, Any], heads: list[tuple[str, Change, list[Change]]],
                waits_for: list[str]) -> None:
        env = stages.get("development")
        if env is None:
            raise InputError(f"{self.spec.file}: environments has no development environment")
        held = self.held
        library = held.development_library(self.library_name) if held.prop else None
        if library is not None and attrs(library).get("state") not in (None, "development"):
            raise RemoteError(f"library {name_of(library)!r} on the development environment is {attrs(library)['state']}; "
                              "move it back to development (or delete it) in the Data Collection UI, then rerun")
        contents = held.library_contents if library is not None or held.contents_from else {}
        wanted: dict[str, list[Any]] = {kind: [] for kind in LIBRARY_KINDS}
        revised = 0
        managed_origins = set()
        for type_, change, parts in heads:
            head = {"extensions": held.extensions.get(change.name), "data_elements": held.data_elements.get(change.name),
                    "rules": held.rules.get(change.name)}[type_]
            if head is not None:
                managed_origins.add(head["id"])
            revision = self._held_revision(head, contents.get(type_, [])) \
                if change.action == "unchanged" and all(p.action == "unchanged" for p in parts) else None
            if revision is not None:
                wanted[type_].append(revision)
                continue
            key = self.key("revision", f"{type_}.{change.name}")
            revised += 1
            self.add(Change(key, self.scope, "revision", f"{KIND_OF_TYPE[type_]} {change.name}", "revise",
                            request={"op": "revise", "type": type_, "id": self.id_or_ref(change.key, head)},
                            after=[change.key] + [p.key for p in parts if p.action != "unchanged"]))
            wanted[type_].append(reference(key))
        removed = []
        made_before = set().union(*self.inputs.managed.get(self.scope, {}).values())
        for type_ in LIBRARY_KINDS:
            for item in contents.get(type_, []):
                if origin_of(item) in managed_origins:
                    continue
                if type_ != "extensions" and (name_of(item).startswith(settings.RULE_PREFIX) or origin_of(item) in made_before):
                    removed.append((type_, item))  # ours by name, no longer in the folder
                else:
                    wanted[type_].append(item["id"])  # someone else's: kept
        held_ids = {kind: sorted(item["id"] for item in contents.get(kind, [])) for kind in LIBRARY_KINDS}
        needs_contents = revised > 0 or any(held_ids[k] != sorted(map(str, wanted[k])) for k in LIBRARY_KINDS)
        key = self.key("library")
        relationships = {kind: {"data": [{"type": kind, "id": item} for item in items]} for kind, items in wanted.items()}
        count = sum(len(items) for items in wanted.values())
        if library is None and held.contents_from and not needs_contents and not removed:
            # Published on: development's last build is that library's, and the folder has nothing newer.
            self.add(Change(key, self.scope, "library", self.library_name, "unchanged",
                            detail=f"on {held.contents_from}; development has nothing newer"))
            self.add(Change(self.key("build"), self.scope, "build", self.library_name, "unchanged", detail="development"))
            return
        if library is None:
            self.add(Change(key, self.scope, "library", self.library_name, "create",
                            detail=f"on the development environment, with {count} resources", request={
                                "op": "create", "path": f"/properties/{self.property_ref}/libraries", "type": "libraries",
                                "attributes": {"name": self.library_name},
                                "relationships": {"environment": {"data": {"type": "environments", "id": env}},
                                                  **relationships}}))
        else:
            attach = not related_id(library, "environment")
            details = ([f"{revised} new revisions"] if revised else []) + ([f"{len(removed)} removed"] if removed else []) \
                + (["attach the development environment"] if attach else [])
            changed_kinds = [k for k in LIBRARY_KINDS if held_ids[k] != sorted(map(str, wanted[k])) or
                             any(is_reference(i) for i in wanted[k])]
            action = "update" if needs_contents or attach else "unchanged"
            change = self.add(Change(key, self.scope, "library", name_of(library), action, id=library["id"],
                                     detail=", ".join(details), calls=max(1, len(changed_kinds) + attach)))
            if action == "update":
                change.request = {"op": "library", "id": library["id"], "attach": env if attach else None,
                                  "set": {k: relationships[k] for k in changed_kinds}}
        for type_, item in removed:
            head_name = name_of(item)
            head_key = self.key(KIND_OF_TYPE[type_], head_name)
            if not any(c.key == head_key and c.action == "delete" for c in self.changes):
                self.add(Change(head_key, self.scope, KIND_OF_TYPE[type_], head_name, "remove", id=origin_of(item),
                                detail="from the library; it stays in the property (`--prune` deletes it)"))
        build_status = (library or {}).get("meta", {}).get("build_status")
        needs_build = library is None or needs_contents or bool(attrs(library).get("build_required")) \
            or build_status != "succeeded"
        build = Change(self.key("build"), self.scope, "build", self.library_name, "run" if needs_build else "unchanged",
                       detail="development", calls=2)
        if needs_build:
            build.request = {"op": "build", "library": self.id_or_ref(key, library)}
            build.after = [key, *waits_for]
        self.add(build)

    def _held_revision(self, head: dict[str, Any] | None, held: list[dict[str, Any]]) -> str | None:
        """The library's revision of an unchanged head, when it is the head's latest and the head is clean."""
        if head is None or attrs(head).get("dirty", True):
            return None
        latest = (head.get("meta") or {}).get("latest_revision_number")
        for item in held:
            if origin_of(item) == head["id"] and latest in (None, attrs(item).get("revision_number")):
                return item["id"]
        return None

    def orphans(self, wanted: dict[str, set[str]]) -> None:
        """Rules and data elements quickstart made (state.json) that the folder no longer names."""
        managed = self.inputs.managed.get(self.scope, {})
        for type_, kind, held in (("rules", "rule", self.held.rules), ("data_elements", "data element", self.held.data_elements)):
            for name, head in held.items():
                if name not in wanted[type_] and head["id"] in managed.get(type_, set()):
                    change = self.stray(self.key(kind, name), kind, type_, name, head)
                    if change.action == "delete":
                        change.after.append(self.key("library"))  # out of the library first


# ---------------------------------------------------------------------------------------------
# The whole plan


def make_plan(folder: Folder, reading: Reading, inputs: Inputs) -> Plan:
    changes: list[Change] = []
    missing: list[str] = []
    notes: list[str] = []
    datastream = _datastream(folder, reading, inputs, changes, missing)
    scopes = [s for s in ("edge", "web") if inputs.only in (None, s)]
    for scope in scopes:
        spec = folder.edge if scope == "edge" else folder.web
        planner = _PropertyPlanner(spec, reading.of(scope), reading.company_id, folder.library_name, inputs,
                                   datastream if scope == "web" else None)
        planner.property()
        host = planner.host()
        stages = planner.environments(host)
        extensions = planner.extensions()
        secret_ids = planner.secrets(stages) if scope == "edge" else {}
        elements = planner.data_elements(extensions, secret_ids)
        rules = planner.rules(extensions)
        planner.orphans({"rules": {r["name"] for r in spec.items("rules")},
                         "data_elements": {d["name"] for d in spec.items("data_elements")}})
        heads = [("extensions", c, []) for c in planner.changes if c.kind == "extension"]
        heads += [("data_elements", c, []) for c in elements]
        heads += [("rules", rule, parts) for rule, parts in rules]
        secrets = [c.key for c in planner.changes if c.kind == "secret" and c.action != "unchanged"]
        planner.library(stages, heads, secrets)
        changes += planner.changes
        missing += planner.missing
        notes += planner.notes
    if inputs.only == "edge":
        notes.append("the Tags property is left as it is (--only edge)")
    known = datastream if isinstance(datastream, str) else None
    return Plan(changes=changes, fingerprint=reading.fingerprint, edge_name=folder.edge.name, web_name=folder.web.name,
                library_name=folder.library_name, missing=missing, notes=notes, only=inputs.only, prune=inputs.prune,
                datastream_id=known)


def _datastream(folder: Folder, reading: Reading, inputs: Inputs, changes: list[Change], missing: list[str]) -> Any:
    """The datastream's id (known), a reference (this run creates it), or None (missing)."""
    title = folder.datastream_title
    known = inputs.datastream_id or folder.datastream_id()
    if known:
        changes.append(Change(DATASTREAM_KEY, "datastream", "datastream", title, "unchanged", id=known))
        return known
    if inputs.only == "edge":
        return None
    if not inputs.create_datastream:
        missing.append("the datastream id: pass --datastream-id ID, or --create-datastream, or run "
                       "`--only edge` first and create the datastream in the UI")
        return None
    edge_env = next((e for e in folder.edge.items("environments")
                     if e.get("stage", "development") == folder.forwarding_stage), None)
    if edge_env is None:
        raise InputError(f"{folder.edge.file}: environments has no {folder.forwarding_stage} environment for the datastream")
    request = {"op": "datastream", "title": title, "sandbox": folder.sandbox,
               "property": reading.edge.property_id or reference("edge.property"),
               "environment": _environment_id(reading.edge, edge_env) or reference(f"edge.environment.{edge_env['name']}")}
    record = reading.datastream
    if record is None:
        changes.append(Change(DATASTREAM_KEY, "datastream", "datastream", title, "create",
                              detail="undocumented endpoint", request=request))
        return reference(DATASTREAM_KEY)
    from quickstart.adobe.datastreams import forwarding_differs, record_id

    record_key = record_id(record)
    if forwarding_differs(record, request["property"], request["environment"]):
        changes.append(Change(DATASTREAM_KEY, "datastream", "datastream", title, "update", id=record_key,
                              detail="point its event forwarding at the property", request={**request, "id": record_key}))
    else:
        changes.append(Change(DATASTREAM_KEY, "datastream", "datastream", title, "unchanged", id=record_key))
    return record_key


def _environment_id(held: Holdings, env: dict[str, Any]) -> str | None:
    stage = env.get("stage", "development")
    for found in held.environments:
        if name_of(found) == env["name"] and attrs(found).get("stage") == stage:
            return found["id"]
    return None
