"""The property files (tags.yaml, event-forwarding.yaml, datastream.yaml) as YAML, fast.

They hold no comments to keep, so they go through PyYAML's libyaml emitter and loader (C):
about 4 ms a document each way, where ruamel's pure-Python round trip took about 60 ms
(benchmarks/bench_cli.py). Multi-line strings (custom code) are block literals, so a file
reads like the code it holds. quickstart.yaml, whose comments survive `update`, stays with
ruamel's round-trip mode (answers.py).
"""

from __future__ import annotations

import re
from typing import Any

import yaml

try:  # libyaml ships in PyYAML's wheels; the pure-Python classes are the same format, slower
    from yaml import CSafeDumper as _BaseDumper
    from yaml import CSafeLoader as _BaseLoader
except ImportError:  # pragma: no cover - a PyYAML built without libyaml
    from yaml import SafeDumper as _BaseDumper  # type: ignore[assignment]
    from yaml import SafeLoader as _BaseLoader  # type: ignore[assignment]

YAMLError = yaml.YAMLError

# YAML 1.2's core schema, as ruamel (and so every earlier quickstart) reads these files: `yes`,
# `no`, `on`, `off` and `1:20` are strings, `0123` is 123. PyYAML alone would read YAML 1.1
# (Norway's `no` as false), so its resolvers are replaced on our two classes only.
_CORE_SCHEMA = (
    ("tag:yaml.org,2002:bool", re.compile(r"^(?:true|True|TRUE|false|False|FALSE)$"), list("tTfF")),
    ("tag:yaml.org,2002:int", re.compile(r"^(?:[-+]?[0-9]+|0o[0-7]+|0x[0-9a-fA-F]+)$"), list("-+0123456789")),
    ("tag:yaml.org,2002:float", re.compile(
        r"^(?:[-+]?(?:\.[0-9]+|[0-9]+(?:\.[0-9]*)?)(?:[eE][-+]?[0-9]+)?|[-+]?\.(?:inf|Inf|INF)|\.(?:nan|NaN|NAN))$"),
     list("-+0123456789.")),
    ("tag:yaml.org,2002:null", re.compile(r"^(?:~|null|Null|NULL|)$"), ["~", "n", "N", ""]),
)


def _core_resolvers() -> dict[Any, list[tuple[str, Any]]]:
    resolvers: dict[Any, list[tuple[str, Any]]] = {}
    for tag, pattern, first in _CORE_SCHEMA:
        for char in first:
            resolvers.setdefault(char or None, []).append((tag, pattern))
    return resolvers


def _construct_int(loader: Any, node: Any) -> int:
    text = loader.construct_scalar(node)
    if text.startswith(("0o", "0x")):
        return int(text[2:], 8 if text[1] == "o" else 16)
    return int(text, 10)


class _Loader(_BaseLoader):
    yaml_implicit_resolvers = _core_resolvers()


_Loader.add_constructor("tag:yaml.org,2002:int", _construct_int)


class _Dumper(_BaseDumper):
    yaml_implicit_resolvers = _core_resolvers()


def _represent_str(dumper: Any, data: str) -> Any:
    return dumper.represent_scalar("tag:yaml.org,2002:str", data, style="|" if "\n" in data else None)


_Dumper.add_representer(str, _represent_str)


def dump_document(data: Any) -> str:
    """YAML text for a property document: keys in their order, block literals for code."""
    return yaml.dump(data, Dumper=_Dumper, sort_keys=False, allow_unicode=True, width=4096,
                     default_flow_style=False)


def load_document(text: str) -> Any:
    """The data of a YAML document (safe: no tags run). Raises YAMLError."""
    return yaml.load(text, Loader=_Loader)  # noqa: S506 - a safe loader


def error_line(exc: Exception) -> int | None:
    """The 1-based line a YAML error points at, when it says."""
    mark = getattr(exc, "problem_mark", None)
    return mark.line + 1 if mark is not None else None
