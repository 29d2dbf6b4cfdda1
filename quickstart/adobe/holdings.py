"""What Adobe holds for the folder's two properties, read once, before anything is decided.

Reads only, in three flat rounds of side-by-side calls: the properties by name; each property's
lists (hosts, environments, extension/data element/rule heads, libraries, secrets) and its rule
components with one paged ``POST /search`` (reference §2.15: there is no property-level list of
components); then the development library's contents and the extension packages (the one
installed, else the newest), each looked up once per run. ``fingerprint`` is a checksum of all
of it, so a saved plan can tell when Adobe changed since.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from typing import Any, Callable

from quickstart.adobe.execute import Runner
from quickstart.adobe.reactor import ReactorClient, ReactorError, related_id
from quickstart.adobe.resources import attrs, by_name, heads, name_of, related_ids, version_key
from quickstart.adobe.spec import Folder, PropertySpec
from quickstart.errors import RemoteError

LIBRARY_KINDS = ("extensions", "data_elements", "rules")


@dataclass
class Holdings:
    """One property on the server. Empty when the property does not exist yet."""

    scope: str
    prop: dict[str, Any] | None = None  # the property resource
    hosts: list[dict[str, Any]] = field(default_factory=list)
    environments: list[dict[str, Any]] = field(default_factory=list)
    extensions: dict[str, dict[str, Any]] = field(default_factory=dict)  # package name -> head
    data_elements: dict[str, dict[str, Any]] = field(default_factory=dict)  # name -> head
    rules: dict[str, dict[str, Any]] = field(default_factory=dict)  # name -> head
    components: dict[str, dict[str, dict[str, Any]]] = field(default_factory=dict)  # rule id -> name -> head
    secrets: dict[str, dict[str, Any]] = field(default_factory=dict)  # name -> secret
    libraries: list[dict[str, Any]] = field(default_factory=list)
    library_contents: dict[str, list[dict[str, Any]]] = field(default_factory=dict)  # of the development library
    staged_contents: dict[str, list[dict[str, Any]]] = field(default_factory=dict)  # of the staging one (publish)
    # No development library (it went on to staging or production): library_contents are then
    # those of the library that left, and this names its stage. The development environment
    # still serves that library's last build.
    contents_from: str | None = None
    packages: dict[str, dict[str, Any]] = field(default_factory=dict)  # package name -> package resource

    @property
    def property_id(self) -> str | None:
        return self.prop["id"] if self.prop else None

    def environment(self, stage: str) -> dict[str, Any] | None:
        found = sorted((e for e in self.environments if attrs(e).get("stage") == stage),
                       key=lambda e: attrs(e).get("created_at") or "")
        return found[0] if found else None

    def library_on(self, stage: str) -> dict[str, Any] | None:
        """The library holding the environment of ``stage`` (one per environment)."""
        environment = self.environment(stage)
        if environment is None:
            return None
        return next((lb for lb in self.libraries if related_id(lb, "environment") == environment["id"]), None)

    def development_library(self, library_name: str) -> dict[str, Any] | None:
        found = self.library_on("development")
        if found is not None:
            return found
        # made by a run that died before it could attach the environment
        return next((lb for lb in self.libraries if name_of(lb) == library_name and not related_id(lb, "environment")
                     and attrs(lb).get("state") in (None, "development")), None)

    def summary(self) -> dict[str, Any]:
        """Everything read, in a stable order (packages aside: they are Adobe's catalog)."""
        def listed(items: Any) -> list[Any]:
            items = list(items.values()) if isinstance(items, dict) else list(items)
            return sorted(({"id": i.get("id"), "attributes": i.get("attributes"), "relationships": i.get("relationships"),
                            "meta": {k: v for k, v in (i.get("meta") or {}).items() if k != "pagination"}} for i in items),
                          key=lambda i: str(i["id"]))
        return {
            "property": listed([self.prop] if self.prop else []),
            "hosts": listed(self.hosts), "environments": listed(self.environments),
            "extensions": listed(self.extensions), "data_elements": listed(self.data_elements),
            "rules": listed(self.rules), "secrets": listed(self.secrets), "libraries": listed(self.libraries),
            "components": {rule: listed(items) for rule, items in sorted(self.components.items())},
            "library_contents": {kind: listed(items) for kind, items in sorted(self.library_contents.items())},
            "staged_contents": {kind: listed(items) for kind, items in sorted(self.staged_contents.items())},
            "contents_from": self.contents_from,
        }


@dataclass
class Reading:
    company_id: str
    edge: Holdings
    web: Holdings
    datastream: dict[str, Any] | None = None  # the record found by title (only with --create-datastream)
    datastream_looked_up: bool = False

    @property
    def fingerprint(self) -> str:
        document = {"company": self.company_id, "edge": self.edge.summary(), "web": self.web.summary(),
                    "datastream": self.datastream}
        text = json.dumps(document, sort_keys=True, separators=(",", ":"), default=str)
        return "sha256:" + hashlib.sha256(text.encode("utf-8")).hexdigest()

    def of(self, scope: str) -> Holdings:
        return self.edge if scope == "edge" else self.web


def find_company(client: ReactorClient, org_id: str) -> str:
    try:
        companies = client.list("/companies")
    except ReactorError as exc:
        if exc.status == 404:
            raise RemoteError(f"the credentials work but org {org_id} has no Tags company; "
                              "open Data Collection once in that org to create it") from None
        raise
    for company in companies:
        if attrs(company).get("org_id") == org_id:
            return company["id"]
    raise RemoteError(f"no Tags company for org {org_id} among the {len(companies)} this credential sees; check ADOBE_ORG_ID")


def read(client: ReactorClient, runner: Runner, folder: Folder, org_id: str, *,
         find_datastream: Callable[[], dict[str, Any] | None] | None = None, staged: bool = False) -> Reading:
    """See the module docstring. ``find_datastream`` looks the datastream up by title (once the
    event forwarding property exists); ``staged`` also reads what the staging library holds."""
    company_id = find_company(client, org_id)
    specs = folder.specs
    found = runner.all([lambda spec=spec: client.list_named(f"/companies/{company_id}/properties", spec.name)
                        for spec in specs])
    holdings = []
    for spec, properties in zip(specs, found):
        if len(properties) > 1:
            raise RemoteError(f"two properties are named {spec.name!r}; rename one in the Data Collection UI")
        held = Holdings(spec.scope)
        if properties:
            platform = attrs(properties[0]).get("platform")
            if platform != spec.platform:
                raise RemoteError(f"property {spec.name!r} exists but is a {platform} property, not {spec.platform}; "
                                  f"rename it, or change property.name in {spec.file}")
            held.prop = properties[0]
        holdings.append(held)

    # Round two: each existing property's lists, side by side.
    calls: list[Callable[[], None]] = []
    for held in holdings:
        if held.prop is not None:
            calls += _list_calls(client, held)
    runner.all(calls)

    # Round three: the development library's contents, the packages, the datastream.
    calls = []
    for spec, held in zip(specs, holdings):
        library = held.development_library(folder.library_name)
        if library is None:
            library, held.contents_from = _moved_on(held, folder.library_name)
        if library is not None:
            calls += [_into(held.library_contents, kind, lambda lid=library["id"], kind=kind:
                            client.list(f"/libraries/{lid}/{kind}")) for kind in LIBRARY_KINDS]
        on_staging = held.library_on("staging") if staged else None
        if on_staging is not None:
            calls += [_into(held.staged_contents, kind, lambda lid=on_staging["id"], kind=kind:
                            client.list(f"/libraries/{lid}/{kind}")) for kind in LIBRARY_KINDS]
        calls += _package_calls(client, spec, held)
    reading = Reading(company_id, holdings[0], holdings[1])
    if find_datastream is not None and reading.edge.prop is not None:
        def look_up() -> None:
            reading.datastream = find_datastream()
            reading.datastream_looked_up = True
        calls.append(look_up)
    runner.all(calls)
    return reading


def _moved_on(held: Holdings, name: str) -> tuple[dict[str, Any] | None, str | None]:
    """Our library that left development (on staging or production, or between the two after a
    publish that stopped half way), and its stage."""
    for stage in ("staging", "production"):
        candidate = held.library_on(stage)
        if candidate is not None and name_of(candidate) == name:
            return candidate, stage
    stages = {"submitted": "staging", "approved": "production"}
    for library in held.libraries:
        if name_of(library) == name and not related_id(library, "environment") and attrs(library).get("state") in stages:
            return library, stages[attrs(library)["state"]]
    return None, None


def _into(target: dict[str, Any], key: str, call: Callable[[], Any]) -> Callable[[], None]:
    def task() -> None:
        target[key] = call()
    return task


def _list_calls(client: ReactorClient, held: Holdings) -> list[Callable[[], None]]:
    base = f"/properties/{held.property_id}"
    head_filter = {"revision_number": "EQ 0"}
    lists: dict[str, Any] = {}

    def done_hosts() -> None:
        held.hosts = client.list(f"{base}/hosts")

    def done_environments() -> None:
        held.environments = client.list(f"{base}/environments")

    def done_extensions() -> None:
        held.extensions = by_name(heads(client.list(f"{base}/extensions", head_filter)))

    def done_data_elements() -> None:
        held.data_elements = by_name(heads(client.list(f"{base}/data_elements", head_filter)))

    def done_rules() -> None:
        lists["rules"] = heads(client.list(f"{base}/rules", head_filter))
        held.rules = by_name(lists["rules"])

    def done_libraries() -> None:
        held.libraries = client.list(f"{base}/libraries")

    def done_components() -> None:
        found = client.search({"relationships.property.data.id": {"value": held.property_id},
                               "attributes.revision_number": {"value": 0}}, ["rule_components"])
        per_rule: dict[str, list[dict[str, Any]]] = {}
        for component in heads(found):
            for rule_id in related_ids(component, "rules"):
                per_rule.setdefault(rule_id, []).append(component)
        held.components = {rule_id: by_name(items) for rule_id, items in per_rule.items()}

    calls = [done_hosts, done_environments, done_extensions, done_data_elements, done_rules, done_libraries,
             done_components]
    if held.scope == "edge":
        def done_secrets() -> None:
            held.secrets = by_name(client.list(f"{base}/secrets"))
        calls.append(done_secrets)
    return calls


def _package_calls(client: ReactorClient, spec: PropertySpec, held: Holdings) -> list[Callable[[], None]]:
    """The package of each extension the file names: the installed one, else the newest."""
    calls = []
    for package_name in dict.fromkeys(ext["package"] for ext in spec.items("extensions")):
        installed = held.extensions.get(package_name)
        package_id = related_id(installed, "extension_package") if installed else None

        def look_up(package_name: str = package_name, package_id: str | None = package_id) -> None:
            if package_id is None:
                found = [p for p in client.list("/extension_packages",
                                                {"name": f"EQ {package_name}", "platform": f"EQ {spec.platform}"},
                                                params={"sort": "-version"})
                         if attrs(p).get("name") == package_name and attrs(p).get("platform") == spec.platform]
                if not found:
                    raise RemoteError(f"Reactor has no {spec.platform} extension package named {package_name!r}; "
                                      "is it available to your org (Extensions > Catalog)?")
                package_id = max(found, key=lambda p: version_key(attrs(p).get("version")))["id"]
            held.packages[package_name] = client.get(f"/extension_packages/{package_id}")
        calls.append(look_up)
    return calls
