"""``quickstart apply``: make Adobe match the folder, through the Reactor API.

One code path serves ``--plan`` and the real run: every ``ensure_*`` step looks at what the
server has (found BY NAME; names on the server are the truth, ``.quickstart/state.json`` is only
a record), decides create / update / unchanged, and changes something only when not planning.
So a second run changes nothing, and a run that died half way finishes without duplicates:
whatever it created is found by name and kept.

Order (reference/adobe-reactor.md §2.14): the event forwarding property first (host,
development environment, Core, the token secret, the secret data element, the Conversions API
extension, data elements, rules and their components), then the datastream, then the Tags
property the same way, then per property a library on its development environment holding
revisions of everything (Core included), a build, and polling until it ends. Every ``settings``
object is checked against the LIVE package's schema before anything is changed.
Independent resources (data elements; rules, each with its components) go out concurrently.
"""

from __future__ import annotations

import html
import json
import os
import re
import threading
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Callable, Mapping

from quickstart import settings
from quickstart.adobe import ims
from quickstart.adobe.reactor import (
    DEFAULT_RETRY,
    CallStats,
    ReactorClient,
    ReactorError,
    RetryPolicy,
    describe_status_details,
    ref,
    related_id,
)
from quickstart.blueprint.datastream import EVENT_FORWARDING_SERVICE
from quickstart.errors import InputError, RemoteError

HOST_TYPE = "akamai"
SECRET_DATA_ELEMENT_DESCRIPTOR = "core::dataElements::secret"
NEW = "(new)"  # the id of something a plan would create
# Optional attributes a file may set, compared and sent as given.
DATA_ELEMENT_ATTRIBUTES = ("default_value", "storage_duration", "force_lower_case", "clean_text", "enabled")
COMPONENT_ATTRIBUTES = ("order", "rule_order", "negate", "timeout", "delay_next")


@dataclass(frozen=True)
class PollPolicy:
    """How we wait for secrets and builds: look at once, then back off up to ``max_delay``."""

    first_delay: float = 0.25
    max_delay: float = 5.0
    timeout: float = 600.0


@dataclass
class Step:
    scope: str  # edge | web | datastream
    kind: str  # property, host, environment, extension, secret, data element, rule, rule component, library, build...
    name: str
    action: str  # create | update | unchanged | run
    detail: str = ""


@dataclass
class ApplyResult:
    plan_only: bool
    steps: list[Step] = field(default_factory=list)
    embed_url: str | None = None
    datastream_id: str | None = None
    files_written: list[str] = field(default_factory=list)
    calls: int = 0
    mutating_calls: int = 0
    retries: int = 0
    seconds: float = 0.0

    @property
    def changes(self) -> int:
        return sum(1 for step in self.steps if step.action != "unchanged")

    @property
    def embed_code(self) -> str | None:
        return embed_code(self.embed_url) if self.embed_url else None

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["changes"] = self.changes
        data["embed_code"] = self.embed_code
        return data


def embed_code(url: str) -> str:
    """The async <head> embed (reference §2.12); the URL comes from the server, so it is escaped."""
    return f'<script src="{html.escape(url, quote=True)}" async></script>'


class _Aborted(Exception):
    """Another worker failed; this one stops before its next call."""


# ---------------------------------------------------------------------------------------------
# The folder


@dataclass
class PropertySpec:
    scope: str  # edge | web
    file: str
    doc: dict[str, Any]

    @property
    def name(self) -> str:
        return self.doc["property"]["name"]

    @property
    def platform(self) -> str:
        return self.doc["property"]["platform"]

    def items(self, key: str) -> list[dict[str, Any]]:
        return list(self.doc.get(key) or [])


def _load_yaml(path: Path, required: bool) -> dict[str, Any] | None:
    from quickstart.yamlio import YAMLError, error_line, load_document

    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        if required:
            raise InputError(f"{path} is missing; is this a folder made by `quickstart init`?") from None
        return None
    except UnicodeDecodeError as exc:
        raise InputError(f"{path} is not UTF-8 text (byte {exc.start}); save it as UTF-8") from None
    except OSError as exc:
        raise InputError(f"{path} cannot be read ({exc.strerror or type(exc).__name__})") from None
    try:
        data = load_document(text)
    except YAMLError as exc:
        line = error_line(exc)
        where = f" (line {line})" if line is not None else ""
        raise InputError(f"{path} is not valid YAML{where}") from None
    if not isinstance(data, dict):
        raise InputError(f"{path} must be a mapping")
    return data


def _check_spec(spec: PropertySpec, platform: str) -> None:
    from quickstart.shapes import property_problems

    problems = property_problems(spec.doc, spec.file, platform)
    if problems:
        raise InputError(problems[0] + (f" (and {len(problems) - 1} more; `quickstart validate` lists them)"
                                        if len(problems) > 1 else ""))
    for secret in spec.items("secrets"):
        if not secret.get("name") or secret.get("type_of", "token") != "token":
            raise InputError(f"{spec.file}: secrets need a name, and only type_of: token is supported")
    packages = {ext.get("package") for ext in spec.items("extensions")}
    if "core" not in packages:
        raise InputError(f"{spec.file}: extensions must include core")
    used = [(f"data element {d.get('name')!r}", d) for d in spec.items("data_elements")]
    for rule in spec.items("rules"):
        if not rule.get("name"):
            raise InputError(f"{spec.file}: a rule has no name")
        used += [(f"rule {rule['name']!r} component {c.get('name')!r}", c) for c in rule.get("components") or []]
    for what, item in used:
        if not item.get("name") or not item.get("delegate_descriptor_id"):
            raise InputError(f"{spec.file}: {what} needs a name and a delegate_descriptor_id")
        if item.get("extension") not in packages:
            raise InputError(f"{spec.file}: {what} uses extension {item.get('extension')!r}, which is not under extensions:")


@dataclass
class Folder:
    path: Path
    edge: PropertySpec
    web: PropertySpec
    datastream: dict[str, Any]
    answers_values: dict[str, Any] | None

    @property
    def specs(self) -> list[PropertySpec]:
        return [self.edge, self.web]


def load_folder(folder: str | Path) -> Folder:
    path = Path(folder)
    if not path.is_dir():
        raise InputError(f"{path} is not a folder")
    edge = PropertySpec("edge", settings.FORWARDING_FILE, _load_yaml(path / settings.FORWARDING_FILE, required=True) or {})
    web = PropertySpec("web", settings.TAGS_FILE, _load_yaml(path / settings.TAGS_FILE, required=True) or {})
    _check_spec(edge, "edge")
    _check_spec(web, "web")
    datastream = _load_yaml(path / settings.DATASTREAM_FILE, required=False) or {}
    answers_values = None
    if (path / settings.ANSWERS_FILE).exists():
        from quickstart.answers import load_answers_file

        from quickstart.answers import check_values

        answers_values = load_answers_file(path / settings.ANSWERS_FILE)
        check_values(answers_values)  # a bad answer (a datastream id, say) stops here, before any call
    return Folder(path, edge, web, datastream, answers_values)


def _real(value: Any) -> str | None:
    text = str(value).strip() if value not in (None, "") else ""
    return text if text and text != settings.PENDING_DATASTREAM_ID else None


def _alloy_instances(web: PropertySpec) -> list[dict[str, Any]]:
    for ext in web.items("extensions"):
        if ext.get("package") == "adobe-alloy":
            return list((ext.get("settings") or {}).get("instances") or [])
    return []


def datastream_id_from_folder(folder: Folder) -> str | None:
    """The datastream id the folder carries, first found in: answers, datastream.yaml, tags.yaml."""
    candidates = [(folder.answers_values or {}).get("datastream_id"),
                  (folder.datastream.get("datastream") or {}).get("id")]
    candidates += [instance.get("edgeConfigId") for instance in _alloy_instances(folder.web)]
    return next((value for value in map(_real, candidates) if value), None)


# ---------------------------------------------------------------------------------------------
# Settings against the live package schemas


def _descriptor_schema(package: dict[str, Any], descriptor: str) -> dict[str, Any] | None:
    attributes = package.get("attributes") or {}
    parts = descriptor.split("::")
    if len(parts) != 3 or parts[0] != attributes.get("name"):
        return None
    if parts[1] == "extensionConfiguration":
        configuration = attributes.get("configuration") or {}
        if configuration.get("id", descriptor) != descriptor:
            return None
        return configuration.get("schema") or {}
    # Delegate kinds in descriptors are camelCase; the package resource lists them snake_case.
    for delegate in attributes.get({"dataElements": "data_elements"}.get(parts[1], parts[1])) or []:
        if delegate.get("id") == descriptor or delegate.get("name") == parts[2]:
            return delegate.get("schema") or {}
    return None


def validate_against_package(package: dict[str, Any], descriptor: str, settings_value: Any, where: str) -> None:
    """InputError naming the file, the resource and the JSON pointer of the first problem."""
    import jsonschema

    attributes = package.get("attributes") or {}
    label = f"{attributes.get('name')} {attributes.get('version') or ''}".strip()
    schema = _descriptor_schema(package, descriptor)
    if schema is None:
        raise InputError(f"{where}: the live {label} extension has no delegate {descriptor!r}")
    errors = sorted(jsonschema.Draft4Validator(schema).iter_errors(settings_value), key=lambda e: list(e.absolute_path))
    if errors:
        error = errors[0]
        pointer = "/data/attributes/settings" + "".join(f"/{part}" for part in error.absolute_path)
        raise InputError(f"{where}: settings rejected by the live {label} schema: {error.message} (at {pointer})")


# ---------------------------------------------------------------------------------------------
# The run


Progress = Callable[[str], None]


class _Run:
    """Shared by the steps of one apply: client, mode, worker pool, results."""

    def __init__(self, client: ReactorClient, *, dry: bool, concurrency: int, poll: PollPolicy,
                 progress: Progress, result: ApplyResult):
        self.client = client
        self.dry = dry
        self.concurrency = max(1, concurrency)
        self.poll = poll
        self.result = result
        self.abort = threading.Event()
        self._progress = progress
        self.lock = threading.Lock()
        self._pool = ThreadPoolExecutor(max_workers=self.concurrency) if self.concurrency > 1 else None
        self._packages: dict[tuple[str, str], dict[str, Any]] = {}
        self._package_by_id: dict[str, dict[str, Any]] = {}

    def close(self) -> None:
        if self._pool is not None:
            self._pool.shutdown(wait=True, cancel_futures=True)

    def step(self, scope: str, kind: str, name: str, action: str, detail: str = "") -> None:
        with self.lock:
            self.result.steps.append(Step(scope, kind, name, action, detail))
        if action != "unchanged" and not self.dry:  # said before the call: a failure follows it as the error
            verb = {"create": "creating", "update": "updating", "run": "running"}.get(action, action)
            self.say(f"  {scope:<10} {verb:<8} {kind} {name}" + (f" ({detail})" if detail else ""))

    def say(self, line: str) -> None:
        with self.lock:
            self._progress(line)

    def check(self) -> None:
        if self.abort.is_set():
            raise _Aborted()

    def all(self, tasks: list[Callable[[], None]]) -> None:
        """Run independent tasks, at most ``concurrency`` at a time; the first error wins."""
        if self._pool is None or len(tasks) < 2:
            for task in tasks:
                task()
            return
        futures = [self._pool.submit(task) for task in tasks]
        first: BaseException | None = None
        try:
            for future in as_completed(futures):
                error = future.exception()
                if error is not None and not isinstance(error, _Aborted) and first is None:
                    first = error
                    self.abort.set()  # the others stop before their next call
        except BaseException:
            self.abort.set()
            raise
        if first is not None:
            raise first

    # -- extension packages ------------------------------------------------------------------

    def package(self, name: str, platform: str, installed_package_id: str | None = None) -> dict[str, Any]:
        """The package resource with its schemas: the one installed, else the newest for the platform."""
        if installed_package_id:
            if installed_package_id not in self._package_by_id:
                self._package_by_id[installed_package_id] = self.client.get(f"/extension_packages/{installed_package_id}")
            return self._package_by_id[installed_package_id]
        key = (name, platform)
        if key not in self._packages:
            found = self.client.list("/extension_packages", {"name": f"EQ {name}", "platform": f"EQ {platform}"},
                                     params={"sort": "-version"})
            found = [p for p in found if (p.get("attributes") or {}).get("name") == name
                     and (p.get("attributes") or {}).get("platform") == platform]
            if not found:
                raise RemoteError(f"Reactor has no {platform} extension package named {name!r}; "
                                  "is it available to your org (Extensions > Catalog)?")
            newest = max(found, key=lambda p: _version_key((p.get("attributes") or {}).get("version")))
            self._packages[key] = self.client.get(f"/extension_packages/{newest['id']}")
        return self._packages[key]

    def wait_for(self, path: str, what: str) -> dict[str, Any]:
        """GET ``path`` until its status leaves ``pending``; the resource at the end."""
        delay, waited = self.poll.first_delay, 0.0
        while True:
            self.check()
            resource = self.client.get(path)
            status = (resource.get("attributes") or {}).get("status")
            if status != "pending":
                return resource
            if waited >= self.poll.timeout:
                raise RemoteError(f"{what} is still pending after {int(waited)} s; rerun `quickstart apply` to keep waiting")
            time.sleep(delay)
            waited += delay
            delay = min(delay * 2, self.poll.max_delay)


def _version_key(version: Any) -> tuple[int, ...]:
    return tuple(int(part) for part in re.findall(r"\d+", str(version or "0"))[:3])


def _name(resource: dict[str, Any]) -> str:
    return (resource.get("attributes") or {}).get("name") or ""


def _heads(items: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [item for item in items if (item.get("attributes") or {}).get("revision_number", 0) in (0, None)]


def _status_details(resource: dict[str, Any]) -> str:
    """Why asynchronous work failed: ``meta.status_details`` (reference §1.7)."""
    details = (resource.get("meta") or {}).get("status_details") or (resource.get("attributes") or {}).get("status_details")
    return describe_status_details(details)


def _as_dirty(head: dict[str, Any]) -> dict[str, Any]:
    """A head whose next revision must be made: it changed (or, in a plan, would change)."""
    return {**head, "attributes": {**(head.get("attributes") or {}), "dirty": True}}


def _by_name(items: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    found: dict[str, dict[str, Any]] = {}
    for item in sorted(items, key=lambda i: (i.get("attributes") or {}).get("created_at") or ""):
        found.setdefault(_name(item), item)  # the oldest wins if a name is doubled
    return found


@dataclass
class Existing:
    """What a property holds on the server, read once before anything is decided."""

    hosts: list[dict[str, Any]] = field(default_factory=list)
    environments: list[dict[str, Any]] = field(default_factory=list)
    extensions: list[dict[str, Any]] = field(default_factory=list)  # heads
    data_elements: dict[str, dict[str, Any]] = field(default_factory=dict)  # name -> head
    rules: dict[str, dict[str, Any]] = field(default_factory=dict)  # name -> head
    components: dict[str, dict[str, dict[str, Any]]] = field(default_factory=dict)  # rule name -> name -> head
    secrets: dict[str, dict[str, Any]] = field(default_factory=dict)
    libraries: list[dict[str, Any]] = field(default_factory=list)


# ---------------------------------------------------------------------------------------------
# One property


class PropertyApply:
    def __init__(self, run: _Run, spec: PropertySpec, company_id: str):
        self.run = run
        self.spec = spec
        self.company_id = company_id
        self.client = run.client
        self.scope = spec.scope
        self.property: dict[str, Any] | None = None
        self.host_id: str | None = None
        self.environments: dict[str, dict[str, Any]] = {}  # spec name -> environment
        self.extensions: dict[str, dict[str, Any]] = {}  # package name -> head
        self.data_elements: dict[str, dict[str, Any]] = {}
        self.rules: dict[str, dict[str, Any]] = {}
        self.components: dict[str, dict[str, dict[str, Any]]] = {}  # rule name -> component name -> head
        self.secrets: dict[str, dict[str, Any]] = {}
        self.library: dict[str, Any] | None = None
        self.build: dict[str, Any] | None = None
        self.existing = Existing()

    @property
    def property_id(self) -> str:
        return self.property["id"] if self.property else NEW

    def _step(self, kind: str, name: str, action: str, detail: str = "") -> None:
        self.run.step(self.scope, kind, name, action, detail)

    # -- reading -----------------------------------------------------------------------------

    def load(self) -> None:
        """Everything that exists, found by name; read-only."""
        client = self.client
        found = [p for p in client.list_named(f"/companies/{self.company_id}/properties", self.spec.name)]
        if len(found) > 1:
            raise RemoteError(f"two properties are named {self.spec.name!r}; rename one in the Data Collection UI")
        if not found:
            return
        prop = found[0]
        platform = (prop.get("attributes") or {}).get("platform")
        if platform != self.spec.platform:
            raise RemoteError(f"property {self.spec.name!r} exists but is a {platform} property, not {self.spec.platform}; "
                              f"rename it, or change property.name in {self.spec.file}")
        self.property = prop
        base = f"/properties/{prop['id']}"
        heads = {"revision_number": "EQ 0"}
        lists: dict[str, tuple[str, dict[str, str] | None]] = {
            "hosts": (f"{base}/hosts", None),
            "environments": (f"{base}/environments", None),
            "extensions": (f"{base}/extensions", heads),
            "data_elements": (f"{base}/data_elements", heads),
            "rules": (f"{base}/rules", heads),
            "libraries": (f"{base}/libraries", None),
        }
        if self.spec.platform == "edge":
            lists["secrets"] = (f"{base}/secrets", None)
        found_lists: dict[str, list[dict[str, Any]]] = {"secrets": []}

        def read(key: str) -> Callable[[], None]:
            def task() -> None:
                path, filters = lists[key]
                found_lists[key] = client.list(path, filters)
            return task

        self.run.all([read(key) for key in lists])
        self.existing = Existing(
            hosts=found_lists["hosts"],
            environments=found_lists["environments"],
            extensions=_heads(found_lists["extensions"]),
            data_elements=_by_name(_heads(found_lists["data_elements"])),
            rules=_by_name(_heads(found_lists["rules"])),
            secrets=_by_name(found_lists["secrets"]),
            libraries=found_lists["libraries"],
        )
        wanted_rules = [rule["name"] for rule in self.spec.items("rules") if rule["name"] in self.existing.rules]
        components: dict[str, list[dict[str, Any]]] = {}

        def read_components(rule_name: str) -> Callable[[], None]:
            def task() -> None:
                rule_id = self.existing.rules[rule_name]["id"]
                components[rule_name] = _heads(client.list(f"/rules/{rule_id}/rule_components"))
            return task

        self.run.all([read_components(name) for name in wanted_rules])
        self.existing.components = {name: _by_name(items) for name, items in components.items()}

    def validate(self, edge_config_id: str | None = None) -> None:
        """Every settings object against the live package schema; nothing is changed here."""
        installed = {(e.get("attributes") or {}).get("name"): related_id(e, "extension_package")
                     for e in self.existing.extensions}

        def package(name: str) -> dict[str, Any]:
            return self.run.package(name, self.spec.platform, installed.get(name))

        self.run.all([lambda name=name: package(name) for name in {ext["package"] for ext in self.spec.items("extensions")}])

        for ext in self.spec.items("extensions"):
            if ext.get("delegate_descriptor_id"):
                settings_value = self._extension_settings(ext, edge_config_id)
                validate_against_package(package(ext["package"]), ext["delegate_descriptor_id"], settings_value,
                                         f"{self.spec.file}: extension {ext['package']!r}")
        for element in self.spec.items("data_elements"):
            validate_against_package(package(element["extension"]), element["delegate_descriptor_id"],
                                     self._element_settings(element, placeholder=True),
                                     f"{self.spec.file}: data element {element['name']!r}")
        for rule in self.spec.items("rules"):
            for component in rule.get("components") or []:
                validate_against_package(package(component["extension"]), component["delegate_descriptor_id"],
                                         component.get("settings") or {},
                                         f"{self.spec.file}: rule {rule['name']!r} component {component['name']!r}")

    # -- settings that only apply knows ------------------------------------------------------

    def _extension_settings(self, ext: dict[str, Any], edge_config_id: str | None) -> Any:
        """The Web SDK's instances point at the datastream that apply knows (the file may say PENDING)."""
        value = ext.get("settings")
        if ext.get("package") == "adobe-alloy" and isinstance(value, dict) and edge_config_id:
            value = json.loads(json.dumps(value))
            for instance in value.get("instances") or []:
                instance["edgeConfigId"] = edge_config_id
        return value

    def _element_settings(self, element: dict[str, Any], placeholder: bool = False) -> Any:
        value = element.get("settings")
        if element.get("delegate_descriptor_id") != SECRET_DATA_ELEMENT_DESCRIPTOR:
            return value
        value = json.loads(json.dumps(value or {}))
        stages = value.setdefault("secrets", {})
        for secret_spec in self.spec.items("secrets"):
            secret = self.secrets.get(secret_spec["name"])
            secret_id = secret["id"] if secret else (NEW if placeholder or self.run.dry else None)
            if secret_id:
                stages[secret_spec.get("environment", "development")] = {"id": secret_id, "name": secret_spec["name"]}
        return value

    # -- writing, in dependency order ----------------------------------------------------------

    def ensure_property(self) -> None:
        wanted = {k: v for k, v in self.spec.doc["property"].items()}
        if self.property is None:
            self._step("property", self.spec.name, "create")
            if not self.run.dry:
                self.run.check()
                self.property = self.client.create(f"/companies/{self.company_id}/properties", "properties", wanted)
                # Reactor installs Core with a new property (reference §2.2); see what came with it.
                self.existing = Existing(extensions=_heads(self.client.list(
                    f"/properties/{self.property['id']}/extensions", {"revision_number": "EQ 0"})))
            return
        current = self.property.get("attributes") or {}
        changed = {k: v for k, v in wanted.items() if k not in ("name", "platform") and current.get(k) != v}
        self._step("property", self.spec.name, "update" if changed else "unchanged", ", ".join(sorted(changed)))
        if changed and not self.run.dry:
            self.property = self.client.update("properties", self.property["id"], changed)

    def ensure_host(self) -> None:
        from quickstart.blueprint.common import DEVELOPMENT_ENVIRONMENT

        names = [env.get("host") for env in self.spec.items("environments") if env.get("host")]
        name = names[0] if names else DEVELOPMENT_ENVIRONMENT["host"]
        hosts = [h for h in self.existing.hosts if (h.get("attributes") or {}).get("type_of") == HOST_TYPE]
        if hosts:  # one akamai host per property: reuse it, whatever its name
            self.host_id = hosts[0]["id"]
            self._step("host", _name(hosts[0]), "unchanged")
            return
        self._step("host", name, "create")
        if not self.run.dry:
            self.run.check()
            self.host_id = self.client.create(f"/properties/{self.property_id}/hosts", "hosts",
                                              {"name": name, "type_of": HOST_TYPE})["id"]

    def ensure_environments(self) -> None:
        existing = sorted(self.existing.environments, key=lambda e: (e.get("attributes") or {}).get("created_at") or "")
        for env in self.spec.items("environments"):
            name, stage = env["name"], env.get("stage", "development")
            match = next((e for e in existing if _name(e) == name and e["attributes"].get("stage") == stage), None)
            if match is None and stage in ("staging", "production"):  # only one of each per property
                match = next((e for e in existing if e["attributes"].get("stage") == stage), None)
            if match is not None:
                self.environments[name] = match
                self._step("environment", name, "unchanged")
                continue
            self._step("environment", name, "create", stage)
            if self.run.dry:
                self.environments[name] = {"id": NEW, "attributes": {"name": name, "stage": stage}}
            else:
                self.run.check()
                self.environments[name] = self.client.create(
                    f"/properties/{self.property_id}/environments", "environments", {"name": name, "stage": stage},
                    {"host": {"data": ref("hosts", self.host_id or "")}})

    def environment_for_stage(self, stage: str) -> dict[str, Any]:
        for env in self.environments.values():
            if (env.get("attributes") or {}).get("stage") == stage:
                return env
        raise InputError(f"{self.spec.file}: environments has no {stage} environment")

    def ensure_extension(self, ext: dict[str, Any], edge_config_id: str | None) -> None:
        package_name = ext["package"]
        current = next((e for e in self.existing.extensions
                        if (e.get("attributes") or {}).get("name") == package_name), None)
        wanted: dict[str, Any] = {}
        if ext.get("delegate_descriptor_id"):
            wanted["delegate_descriptor_id"] = ext["delegate_descriptor_id"]
            wanted["settings"] = self._extension_settings(ext, edge_config_id)
        if "enabled" in ext:
            wanted["enabled"] = ext["enabled"]
        if current is None:
            comes_with_property = self.property is None and package_name == "core"
            self._step("extension", package_name, "create", "comes with the new property" if comes_with_property else "")
            if self.run.dry:
                self.extensions[package_name] = {"id": NEW, "attributes": {"name": package_name}}
                return
            self.run.check()
            package = self.run.package(package_name, self.spec.platform)
            self.extensions[package_name] = self.client.create(
                f"/properties/{self.property_id}/extensions", "extensions", wanted,
                {"extension_package": {"data": ref("extension_packages", package["id"])}})
            return
        self.extensions[package_name] = current
        attributes = current.get("attributes") or {}
        changed = {k: v for k, v in wanted.items() if attributes.get(k) != v}
        detail = ", ".join(sorted(changed))
        self._step("extension", package_name, "update" if changed else "unchanged", detail)
        if changed and self.run.dry:
            self.extensions[package_name] = _as_dirty(current)
        elif changed:
            self.run.check()
            self.extensions[package_name] = self.client.update("extensions", current["id"], changed)

    def ensure_secret(self, secret_spec: dict[str, Any], token_value: str | None) -> None:
        name = secret_spec["name"]
        environment = self.environment_for_stage(secret_spec.get("environment", "development"))
        current = self.existing.secrets.get(name)
        if current is not None:
            bound_to = related_id(current, "environment")
            if bound_to != environment["id"]:
                raise RemoteError(f"secret {name!r} exists but belongs to another environment ({bound_to}); secrets "
                                  "cannot move: delete it in the Data Collection UI, or rename it in event-forwarding.yaml")
            status = (current.get("attributes") or {}).get("status")
            self.secrets[name] = current
            if status == "succeeded":
                self._step("secret", name, "unchanged")
                return
            if status == "failed":
                self._step("secret", name, "update", "retry the failed exchange")
                if self.run.dry:
                    return
                self.run.check()
                self.client.update("secrets", current["id"], {"type_of": current["attributes"].get("type_of", "token")},
                                   meta={"action": "retry"})
            else:
                self._step("secret", name, "update", f"wait: {status}")
                if self.run.dry:
                    return
        else:
            self._step("secret", name, "create", f"from ${secret_spec.get('env', settings.TOKEN_ENV)}")
            if self.run.dry:
                return
            self.run.check()
            current = self.client.create(
                f"/properties/{self.property_id}/secrets", "secrets",
                {"name": name, "type_of": secret_spec.get("type_of", "token"), "credentials": {"token": token_value}},
                {"environment": {"data": ref("environments", environment["id"])}})
            self.secrets[name] = current
        final = self.run.wait_for(f"/secrets/{current['id']}", f"secret {name!r}")
        if (final.get("attributes") or {}).get("status") != "succeeded":
            raise RemoteError(f"secret {name!r} failed: {_status_details(final)}; "
                              f"check ${secret_spec.get('env', settings.TOKEN_ENV)} and rerun")
        self.secrets[name] = final

    def _attributes_for(self, item: dict[str, Any], optional: tuple[str, ...], settings_value: Any) -> dict[str, Any]:
        wanted = {"name": item["name"], "delegate_descriptor_id": item["delegate_descriptor_id"], "settings": settings_value}
        wanted.update({key: item[key] for key in optional if key in item})
        return wanted

    def _extension_id(self, package_name: str) -> str:
        return self.extensions[package_name]["id"]

    def _package_of(self, resource: dict[str, Any]) -> str | None:
        extension_id = related_id(resource, "extension")
        for package_name, ext in self.extensions.items():
            if ext["id"] == extension_id:
                return package_name
        return None

    def _diff(self, current: dict[str, Any], wanted: dict[str, Any], package_name: str) -> dict[str, Any]:
        attributes = current.get("attributes") or {}
        changed = {k: v for k, v in wanted.items() if k != "name" and attributes.get(k) != v}
        if self._package_of(current) != package_name:
            changed["extension"] = package_name
        return changed

    def ensure_data_element(self, element: dict[str, Any]) -> None:
        self.run.check()
        name = element["name"]
        wanted = self._attributes_for(element, DATA_ELEMENT_ATTRIBUTES, self._element_settings(element))
        relationships = {"extension": {"data": ref("extensions", self._extension_id(element["extension"]))}}
        current = self.existing.data_elements.get(name)
        if current is None:
            self._step("data element", name, "create")
            self.data_elements[name] = {"id": NEW, "attributes": wanted} if self.run.dry else self.client.create(
                f"/properties/{self.property_id}/data_elements", "data_elements", wanted, relationships)
            return
        self.data_elements[name] = current
        changed = self._diff(current, wanted, element["extension"])
        self._step("data element", name, "update" if changed else "unchanged", ", ".join(sorted(changed)))
        if changed and self.run.dry:
            self.data_elements[name] = _as_dirty(current)
        elif changed:
            changed.pop("extension", None)
            self.data_elements[name] = self.client.update("data_elements", current["id"], changed or {"name": name},
                                                          relationships)

    def ensure_rule(self, rule: dict[str, Any]) -> None:
        """The rule, then its components in order (they depend on the rule, not on each other's ids)."""
        self.run.check()
        name = rule["name"]
        current = self.existing.rules.get(name)
        wanted = {"name": name, "enabled": rule.get("enabled", True)}
        if current is None:
            self._step("rule", name, "create")
            current = {"id": NEW, "attributes": wanted} if self.run.dry else \
                self.client.create(f"/properties/{self.property_id}/rules", "rules", wanted)
        else:
            changed = {k: v for k, v in wanted.items() if (current.get("attributes") or {}).get(k) != v}
            self._step("rule", name, "update" if changed else "unchanged", ", ".join(sorted(changed)))
            if changed and self.run.dry:
                current = _as_dirty(current)
            elif changed:
                current = self.client.update("rules", current["id"], changed)
        existing = self.existing.components.get(name, {})
        self.components[name] = {}
        components_changed = False
        for component in rule.get("components") or []:
            self.run.check()
            label = f"{name} / {component['name']}"
            wanted_component = self._attributes_for(component, COMPONENT_ATTRIBUTES, component.get("settings") or {})
            relationships = {"extension": {"data": ref("extensions", self._extension_id(component["extension"]))}}
            found = existing.get(component["name"])
            if found is None:
                components_changed = True
                self._step("rule component", label, "create")
                if not self.run.dry:
                    relationships["rules"] = {"data": [ref("rules", current["id"])]}
                    found = self.client.create(f"/properties/{self.property_id}/rule_components", "rule_components",
                                               wanted_component, relationships)
            else:
                changed = self._diff(found, wanted_component, component["extension"])
                components_changed = components_changed or bool(changed)
                self._step("rule component", label, "update" if changed else "unchanged", ", ".join(sorted(changed)))
                if changed and not self.run.dry:
                    changed.pop("extension", None)
                    found = self.client.update("rule_components", found["id"], changed or {"name": component["name"]},
                                               relationships)
            if found is not None:
                self.components[name][component["name"]] = found
        # A component's change makes its rule dirty on the server; the head we hold predates it.
        self.rules[name] = _as_dirty(current) if components_changed else current

    def apply_resources(self, edge_config_id: str | None = None, token_value: str | None = None) -> None:
        """Property, host, environments, extensions, secrets, data elements, rules: in that order."""
        self.ensure_property()
        self.ensure_host()
        self.ensure_environments()
        extensions = self.spec.items("extensions")
        core = [ext for ext in extensions if ext["package"] == "core"]
        others = [ext for ext in extensions if ext["package"] != "core"]
        for ext in core:
            self.ensure_extension(ext, edge_config_id)
        elements = self.spec.items("data_elements")
        secret_elements = [e for e in elements if e["delegate_descriptor_id"] == SECRET_DATA_ELEMENT_DESCRIPTOR]
        if secret_elements or self.spec.items("secrets"):
            # The token secret, then the data element that points at it, then the extension that uses it.
            for secret_spec in self.spec.items("secrets"):
                self.ensure_secret(secret_spec, token_value)
            for element in secret_elements:
                self.ensure_data_element(element)
        for ext in others:
            self.ensure_extension(ext, edge_config_id)
        self.run.all([lambda e=e: self.ensure_data_element(e) for e in elements if e not in secret_elements])
        self.run.all([lambda r=r: self.ensure_rule(r) for r in self.spec.items("rules")])

    # -- library and build ---------------------------------------------------------------------

    def _managed_heads(self) -> dict[str, list[dict[str, Any]]]:
        return {"extensions": list(self.extensions.values()),
                "data_elements": list(self.data_elements.values()),
                "rules": list(self.rules.values())}

    def ensure_library(self, library_name: str) -> None:
        environment = self.environment_for_stage("development")
        libraries = self.existing.libraries
        library = next((lb for lb in libraries if related_id(lb, "environment") == environment["id"]), None)
        if library is None:  # made by a run that died before it could attach the environment
            library = next((lb for lb in libraries if _name(lb) == library_name and not related_id(lb, "environment")), None)
        if library is not None and (library.get("attributes") or {}).get("state") not in (None, "development"):
            raise RemoteError(f"library {_name(library)!r} on the development environment is {library['attributes']['state']}; "
                              "move it back to development (or delete it) in the Data Collection UI, then rerun")
        contents = self._library_contents(library) if library is not None else {}
        wanted: dict[str, list[str]] = {}
        to_revise: list[tuple[str, dict[str, Any]]] = []
        for kind, heads in self._managed_heads().items():
            wanted[kind] = []
            for head in heads:
                revision = self._latest_revision(kind, head, contents.get(kind, []))
                if revision is None:
                    to_revise.append((kind, head))
                else:
                    wanted[kind].append(revision)
        held = {kind: [item["id"] for item in contents.get(kind, [])] for kind in wanted}
        managed_origins = {head["id"] for heads in self._managed_heads().values() for head in heads}
        # Keep what someone else put in the library, but not our own resources the files no longer name
        # (an event taken out with `update --events`): those stay in the property, out of the build.
        extras = {kind: [item["id"] for item in contents.get(kind, [])
                         if related_id(item, "origin") not in managed_origins and not _name(item).startswith(settings.RULE_PREFIX)]
                  for kind in wanted}
        needs_contents = bool(to_revise) or any(sorted(held[kind]) != sorted(wanted[kind] + extras[kind]) for kind in wanted)
        build_status = ((library or {}).get("meta") or {}).get("build_status")
        build_required = bool(((library or {}).get("attributes") or {}).get("build_required"))
        needs_build = library is None or needs_contents or build_required or build_status != "succeeded"
        if library is None:
            count = sum(len(heads) for heads in self._managed_heads().values())
            self._step("library", library_name, "create", f"on {_name(environment)}, with {count} resources")
        elif not related_id(library, "environment"):
            self._step("library", _name(library), "update", f"attach {_name(environment)}")
        else:
            self._step("library", _name(library), "update" if needs_contents else "unchanged",
                       f"{len(to_revise)} revised" if needs_contents else "")
        self._step("build", _name(library) if library else library_name, "run" if needs_build else "unchanged",
                   "development")
        if self.run.dry:
            return
        revised: list[tuple[str, str]] = []

        def revise(kind: str, head_id: str) -> Callable[[], None]:
            def task() -> None:
                self.run.check()
                revision = self.client.revise(kind, head_id)
                with self.run.lock:
                    revised.append((kind, revision["id"]))
            return task

        # Revisions first, then attach them (reference §2.10); revisions of different heads are independent.
        self.run.all([revise(kind, head["id"]) for kind, head in to_revise])
        for kind, revision_id in revised:
            wanted[kind].append(revision_id)
        if library is None:
            self.run.check()
            relationships: dict[str, Any] = {"environment": {"data": ref("environments", environment["id"])}}
            relationships.update({kind: {"data": [ref(kind, i) for i in ids]} for kind, ids in wanted.items()})
            library = self.client.create(f"/properties/{self.property_id}/libraries", "libraries",
                                         {"name": library_name}, relationships)
        else:
            if not related_id(library, "environment"):
                self.client.set_relationship(f"/libraries/{library['id']}/relationships/environment",
                                             ref("environments", environment["id"]))
            for kind, ids in wanted.items():
                target = ids + extras[kind]
                if sorted(held[kind]) != sorted(target):
                    self.run.check()
                    self.client.set_relationship(f"/libraries/{library['id']}/relationships/{kind}",
                                                 [ref(kind, i) for i in target], method="PATCH")
        self.library = library
        if needs_build:
            self.run.check()
            build = self.client.post(f"/libraries/{library['id']}/builds")
            self.build = self.run.wait_for(f"/builds/{build['id']}", f"the {self.scope} build")
            status = (self.build.get("attributes") or {}).get("status")
            if status != "succeeded":
                raise RemoteError(f"the {self.scope} library build {status}: {_status_details(self.build)}")
            self.run.say(f"  {self.scope:<10} build succeeded")

    def _library_contents(self, library: dict[str, Any]) -> dict[str, list[dict[str, Any]]]:
        contents: dict[str, list[dict[str, Any]]] = {}

        def read(kind: str) -> Callable[[], None]:
            def task() -> None:
                contents[kind] = self.client.list(f"/libraries/{library['id']}/{kind}")
            return task

        self.run.all([read(kind) for kind in ("extensions", "data_elements", "rules")])
        return contents

    def _latest_revision(self, kind: str, head: dict[str, Any], held: list[dict[str, Any]]) -> str | None:
        """The id of a revision equal to the head (so it can go in the library); None: revise it."""
        attributes = head.get("attributes") or {}
        if head.get("id") == NEW or attributes.get("dirty", True):
            return None  # changed since its last revision (or never revised)
        latest = (head.get("meta") or {}).get("latest_revision_number")
        for item in held:
            if related_id(item, "origin") == head["id"] and latest in (None, (item.get("attributes") or {}).get("revision_number")):
                return item["id"]
        if latest == 0:
            return None
        revisions = [r for r in self.client.list(f"/{kind}/{head['id']}/revisions")
                     if (r.get("attributes") or {}).get("revision_number")]
        if not revisions:
            return None
        return max(revisions, key=lambda r: r["attributes"]["revision_number"])["id"]

    def embed_url(self) -> str | None:
        environment = self.environment_for_stage("development")
        attributes = environment.get("attributes") or {}
        path = attributes.get("library_path")
        entries = [e for e in attributes.get("library_entry_points") or [] if e.get("minified")]
        library_name = (entries[0].get("library_name") if entries else None) or attributes.get("library_name")
        if not path or not library_name:
            return None
        return f"{settings.EMBED_BASE_URL}/{path}/{library_name}"

    def state(self) -> dict[str, Any]:
        return {
            "name": self.spec.name,
            "id": self.property["id"] if self.property else None,
            "host_id": self.host_id,
            "environments": {name: env.get("id") for name, env in self.environments.items()},
            "extensions": {name: ext.get("id") for name, ext in self.extensions.items()},
            "secrets": {name: secret.get("id") for name, secret in self.secrets.items()},
            "data_elements": {name: element.get("id") for name, element in sorted(self.data_elements.items())},
            "rules": {name: {"id": rule.get("id"),
                             "components": {c: item.get("id") for c, item in self.components.get(name, {}).items()}}
                      for name, rule in sorted(self.rules.items())},
            "library_id": self.library["id"] if self.library else None,
            "build": self._build_state(),
        }

    def _build_state(self) -> dict[str, Any] | None:
        if self.build:
            return {"id": self.build.get("id"), "status": (self.build.get("attributes") or {}).get("status")}
        if self.library:  # nothing to build this time: the library's last build
            return {"id": related_id(self.library, "last_build"), "status": (self.library.get("meta") or {}).get("build_status")}
        return None


# ---------------------------------------------------------------------------------------------
# The whole command


def find_company(client: ReactorClient, org_id: str) -> str:
    try:
        companies = client.list("/companies")
    except ReactorError as exc:
        if exc.status == 404:
            raise RemoteError(f"the credentials work but org {org_id} has no Tags company; "
                              "open Data Collection once in that org to create it") from None
        raise
    for company in companies:
        if (company.get("attributes") or {}).get("org_id") == org_id:
            return company["id"]
    raise RemoteError(f"no Tags company for org {org_id} among the {len(companies)} this credential sees; check ADOBE_ORG_ID")


def apply_folder(folder: str | Path, *, plan_only: bool = False, datastream_id: str | None = None,
                 create_datastream: bool = False, concurrency: int = 4, environ: Mapping[str, str] | None = None,
                 progress: Progress | None = None, retry: RetryPolicy = DEFAULT_RETRY,
                 poll: PollPolicy = PollPolicy(), session: Any = None) -> ApplyResult:
    """Plan (``plan_only``) or carry out the folder's setup in Adobe; see the module docstring.

    ``environ`` supplies the ADOBE_* credentials and the token variable; the base URLs come from
    ``quickstart.settings`` (QUICKSTART_*_URL). Raises QuickstartError subclasses only.
    """
    started = time.monotonic()
    environ = os.environ if environ is None else environ
    progress = progress or (lambda line: None)
    spec = load_folder(folder)
    if datastream_id is not None:
        from quickstart.answers import validate_datastream_id

        datastream_id = validate_datastream_id(datastream_id)
    known_datastream = datastream_id or datastream_id_from_folder(spec)
    credentials = ims.credentials_from_env(environ)

    own_session = session is None
    session = session or _session(concurrency)
    stats = CallStats()
    tokens = ims.TokenProvider(credentials, session)
    client = ReactorClient(tokens, session=session, retry=retry, stats=stats, redact=[credentials.client_secret])
    for secret_spec in spec.edge.items("secrets"):
        raw = environ.get(secret_spec.get("env") or settings.TOKEN_ENV, "")
        client.redact(raw)
        client.redact(raw.strip())
    result = ApplyResult(plan_only=plan_only, datastream_id=known_datastream)
    run = _Run(client, dry=True, concurrency=concurrency, poll=poll, progress=progress, result=result)
    library_name = _library_name(spec)
    applying: tuple[str, PropertyApply, PropertyApply] | None = None
    try:
        progress(f"reading what exists in Adobe (org {credentials.org_id}) ...")
        company_id = find_company(client, credentials.org_id)
        edge = PropertyApply(run, spec.edge, company_id)
        web = PropertyApply(run, spec.web, company_id)
        edge.load()
        web.load()
        edge.validate()
        web.validate(known_datastream or settings.PENDING_DATASTREAM_ID)

        # The plan: every step decided against what exists; nothing is changed.
        planned_datastream = _plan_datastream(run, spec, edge, known_datastream, create_datastream, tokens, session, stats)
        edge.apply_resources()
        edge.ensure_library(library_name)
        web.apply_resources(known_datastream or planned_datastream)
        web.ensure_library(library_name)
        result.embed_url = web.embed_url() if web.property else None
        if plan_only:
            return result

        # The real run: what it needs is checked before the first change.
        token_value = _token_for_new_secrets(spec, edge, environ)
        changes = result.changes
        result.steps = []
        run.dry = False
        edge, web = _reset(edge), _reset(web)
        applying = (company_id, edge, web)
        progress(f"applying {changes} changes, {run.concurrency} at a time ..." if changes else "nothing to change")
        edge.apply_resources(token_value=token_value)
        if known_datastream is None and create_datastream:
            known_datastream = _ensure_datastream(run, spec, edge, tokens, session, stats)
        result.datastream_id = known_datastream
        edge.ensure_library(library_name)
        if known_datastream is None:
            progress(_datastream_instructions(spec, edge))
            raise InputError("the Tags property needs a datastream id: create the datastream as shown above, then "
                             f"`quickstart apply {spec.path} --datastream-id ID` (or rerun with --create-datastream)")
        web.apply_resources(known_datastream)
        web.ensure_library(library_name)
        result.embed_url = web.embed_url()
        _write_state(spec.path, company_id, edge, web, result)
        applying = None
        result.files_written = record_in_folder(spec, known_datastream, result.embed_url)
        return result
    finally:
        run.close()
        if own_session:
            session.close()
        if applying is not None:  # stopped half way: keep a record of what exists so far
            _write_state(spec.path, *applying, result)
        result.calls, result.mutating_calls, result.retries = stats.calls, stats.mutating, stats.retries
        result.seconds = round(time.monotonic() - started, 2)


def _session(concurrency: int) -> Any:
    import requests

    session = requests.Session()
    adapter = requests.adapters.HTTPAdapter(pool_connections=4, pool_maxsize=max(10, concurrency))
    session.mount("https://", adapter)
    session.mount("http://", adapter)
    return session


def _reset(planned: PropertyApply) -> PropertyApply:
    """A fresh applier for the real run that reuses what the plan read (no second lookup)."""
    fresh = PropertyApply(planned.run, planned.spec, planned.company_id)
    fresh.property = planned.property
    fresh.existing = planned.existing
    return fresh


def _library_name(spec: Folder) -> str:
    from quickstart.blueprint.common import property_names

    return property_names(str((spec.answers_values or {}).get("domain") or ""))["library"]


def _token_for_new_secrets(spec: Folder, edge: PropertyApply, environ: Mapping[str, str]) -> str | None:
    """The token, when a secret has to be created; missing then is bad input, before any change."""
    needed = [s for s in spec.edge.items("secrets") if s["name"] not in edge.existing.secrets]
    if not needed:
        return None
    names = sorted({s.get("env") or settings.TOKEN_ENV for s in needed})
    from quickstart.redaction import clean_token

    value = clean_token(environ.get(names[0]), names[0])
    if not value:
        raise InputError(f"{names[0]} is not set: apply stores the Conversions API access token as an Adobe secret "
                         f"(export it, or `set -a; . {spec.path}/.env; set +a`)")
    return value


def _plan_datastream(run: _Run, spec: Folder, edge: PropertyApply, known: str | None, create: bool,
                     tokens: Any, session: Any, stats: CallStats) -> str:
    title = _datastream_title(spec)
    if known:
        run.step("datastream", "datastream", title, "unchanged", f"id {known}")
        return known
    if not create:
        run.step("datastream", "datastream", title, "create", "by you, in the UI: pass --datastream-id, or use --create-datastream")
        return settings.PENDING_DATASTREAM_ID
    if edge.property is None:
        run.step("datastream", "datastream", title, "create", "undocumented endpoint")
        return settings.PENDING_DATASTREAM_ID
    from quickstart.adobe.datastreams import DatastreamClient, ensure_datastream

    environment_id = next((e["id"] for e in edge.existing.environments
                           if (e.get("attributes") or {}).get("stage") == "development"), NEW)
    client = DatastreamClient(tokens, session, sandbox=_sandbox(spec), retry=run.client.retry, stats=stats)
    outcome = ensure_datastream(client, title, edge.property["id"], environment_id, dry=True)
    run.step("datastream", "datastream", title, outcome.action, "undocumented endpoint")
    return outcome.id if outcome.id != NEW else settings.PENDING_DATASTREAM_ID


def _ensure_datastream(run: _Run, spec: Folder, edge: PropertyApply, tokens: Any, session: Any, stats: CallStats) -> str:
    from quickstart.adobe.datastreams import DatastreamClient, ensure_datastream

    title = _datastream_title(spec)
    client = DatastreamClient(tokens, session, sandbox=_sandbox(spec), retry=run.client.retry, stats=stats)
    environment = edge.environment_for_stage(_forwarding(spec).get("environment", "development"))
    outcome = ensure_datastream(client, title, edge.property_id, environment["id"], dry=False)
    run.step("datastream", "datastream", title, outcome.action, f"id {outcome.id}, undocumented endpoint")
    return outcome.id


def _forwarding(spec: Folder) -> dict[str, Any]:
    return ((spec.datastream.get("services") or {}).get(EVENT_FORWARDING_SERVICE) or {})


def _datastream_title(spec: Folder) -> str:
    return str((spec.datastream.get("datastream") or {}).get("title") or f"{spec.web.name} datastream")


def _sandbox(spec: Folder) -> str:
    return str((spec.datastream.get("datastream") or {}).get("sandbox") or "prod")


def _datastream_instructions(spec: Folder, edge: PropertyApply) -> str:
    environment = edge.environment_for_stage(_forwarding(spec).get("environment", "development"))
    return "\n".join([
        "The event forwarding property is ready. Adobe has no public API for datastreams, so create one:",
        "  Data Collection > Datastreams > New datastream",
        f"    name: {_datastream_title(spec)}",
        "    add the service Event Forwarding:",
        f"      property: {spec.edge.name} ({edge.property_id})",
        f"      environment: {_name(environment)} ({environment.get('id')})",
        f"  then: quickstart apply {spec.path} --datastream-id <its id>",
    ])


# ---------------------------------------------------------------------------------------------
# state.json and the folder's files


def _write_state(folder: Path, company_id: str, edge: PropertyApply, web: PropertyApply, result: ApplyResult) -> None:
    """A record of ids (never a secret). Written atomically; other keys in the file are kept."""
    from quickstart.render import atomic_write, load_state

    old = load_state(folder)
    state = dict(old)
    state.update({
        "version": 1,
        "company_id": company_id,
        "properties": {"edge": edge.state(), "web": web.state()},
        "datastream_id": result.datastream_id,
    })
    if result.embed_url:
        state["embed_url"] = result.embed_url
    if {k: v for k, v in state.items() if k != "applied_at"} == {k: v for k, v in old.items() if k != "applied_at"}:
        return  # a run that changed nothing leaves the folder as it was
    state["applied_at"] = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
    atomic_write(folder / settings.STATE_FILE, json.dumps(state, indent=2, sort_keys=True) + "\n")


def record_in_folder(spec: Folder, datastream_id: str, embed_url: str | None) -> list[str]:
    """Put what apply learned into the folder's files; return the ones written.

    The datastream id goes into quickstart.yaml and the folder is re-rendered by render.py (the
    embed URL comes from state.json, written just before), so every generated file the user left
    alone gets the id and the real embed code, and its new hash is recorded. A file the user
    edited stays theirs; only in their own head.html is the embed script swapped, since pasting
    that snippet is the next step.
    """
    from quickstart import render
    from quickstart.answers import Answers

    if spec.answers_values is None:
        return []
    values = dict(spec.answers_values)
    values["datastream_id"] = datastream_id
    result = render.write_folder(spec.path, Answers.from_values(values), keep_conflicts=True)
    written = [f.path for f in result.files if f.status in ("create", "update")]

    relpath = settings.HEAD_SNIPPET
    if embed_url and any(f.path == relpath and f.status == "kept" for f in result.files):
        path = spec.path / relpath
        old_text = render.read_text_or_none(path) or ""
        script = re.compile(r'<script src="https://assets\.adobedtm\.com/[^"]*" async></script>')
        code = embed_code(embed_url)
        new_text = script.sub(lambda _: code, old_text, count=1) if script.search(old_text) else old_text + code + "\n"
        if new_text != old_text:
            render.atomic_write(path, new_text)  # its hash is not recorded: it stays a user edit
            written.append(relpath)
    return written


# ---------------------------------------------------------------------------------------------
# What the CLI prints


def format_plan(result: ApplyResult) -> str:
    lines = ["plan (nothing was changed):"]
    for scope, title in (("edge", "event forwarding property"), ("datastream", "datastream"), ("web", "Tags property")):
        steps = [s for s in result.steps if s.scope == scope]
        if not steps:
            continue
        lines.append(f"  {title}:")
        for step in steps:
            if step.action != "unchanged":
                lines.append(f"    {step.action:<9} {step.kind} {step.name}" + (f"  ({step.detail})" if step.detail else ""))
        unchanged = Counter(step.kind for step in steps if step.action == "unchanged")
        if unchanged:
            lines.append("    unchanged " + ", ".join(_count(n, kind) for kind, n in unchanged.items()))
    lines.append(f"{result.changes} to change, {len(result.steps) - result.changes} unchanged "
                 f"({result.calls} read calls, {result.seconds} s)")
    return "\n".join(lines)


def _count(n: int, noun: str) -> str:
    plural = noun[:-1] + "ies" if noun.endswith("y") else noun + "s"
    return f"{n} {noun if n == 1 else plural}"


def format_summary(result: ApplyResult, folder: str | Path) -> str:
    counts = Counter(step.action for step in result.steps)
    words = (("create", "created"), ("update", "updated"), ("run", "built"), ("unchanged", "unchanged"))
    done = ", ".join(f"{counts[action]} {word}" for action, word in words if counts.get(action))
    lines = [f"done in {result.seconds} s: {done or 'nothing to do'}; "
             f"{result.calls} API calls, {result.mutating_calls} of them changes"
             + (f", {result.retries} retried" if result.retries else "")]
    if result.files_written:
        lines.append("updated in the folder: " + ", ".join(result.files_written))
    if result.embed_code:
        lines += ["", "embed code (development), also in snippets/head.html:", f"  {result.embed_code}", "",
                  "next:",
                  f"  paste {Path(folder) / 'snippets' / 'head.html'} into the <head> of every page",
                  f"  quickstart validate {folder} --site https://<your site>   # check it in a browser"]
    return "\n".join(lines)
