"""The property files (tags.yaml, event-forwarding.yaml, datastream.yaml) as YAML, fast.

They hold no comments to keep, so they are written by the small block-style emitter below
(about 2 ms for tags.yaml, no YAML library loaded) and read by PyYAML's libyaml loader (about
4 ms), where ruamel's
pure-Python round trip took about 60 ms each way (benchmarks/bench_cli.py). Both sides mean
YAML 1.2's core schema, as ruamel read these files. Multi-line strings (custom code) are block
literals, so a file reads like the code it holds. quickstart.yaml, whose comments survive `update`, stays with
ruamel's round-trip mode (answers.py).
"""

from __future__ import annotations

import json
import re
from typing import Any

import functools


class YAMLError(ValueError):
    """The text is not valid YAML; ``line`` is where the reader stopped (1-based), when known."""

    def __init__(self, message: str, line: int | None = None):
        super().__init__(message)
        self.line = line

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


@functools.lru_cache(maxsize=2)
def _loader(numbers_as_text: bool = False) -> Any:
    """PyYAML's libyaml loader with YAML 1.2's core schema (imported only when reading); with
    ``numbers_as_text``, numbers stay the text they were written as (ids, not quantities)."""
    import yaml

    base = getattr(yaml, "CSafeLoader", yaml.SafeLoader)  # libyaml ships in PyYAML's wheels
    resolvers = _core_resolvers()
    if numbers_as_text:
        resolvers = {first: [(tag, pattern) for tag, pattern in entries if not tag.endswith(("int", "float"))]
                     for first, entries in resolvers.items()}

    class Loader(base):  # type: ignore[valid-type,misc]
        yaml_implicit_resolvers = resolvers

    Loader.add_constructor("tag:yaml.org,2002:int", _construct_int)
    return Loader


# --- writing: a small block-style emitter for plain data -------------------------------------
# The documents are dicts, lists and scalars. Emitting them directly costs a few ms where
# PyYAML's representer and resolver take about 20 ms for tags.yaml; every string that is not
# plainly a word-like string is written double-quoted as JSON writes it (a YAML subset), code
# as a literal block. Tests read the output back with PyYAML and ruamel.

_PLAIN = re.compile(r"[\w$/][\w$./:%(){}@+, -]*")
# What a YAML 1.1 or 1.2 reader could take for a number, a date or a time: written quoted.
_NUMBER_LIKE = re.compile(r"[-+.]?[0-9][0-9_:.,eExXoObB+-]*|\d{4}-\d\d?-\d\d?(?:[Tt ].*)?")
_AMBIGUOUS_WORDS = frozenset({"yes", "no", "on", "off", "y", "n", "true", "false", "null"})
# Characters YAML does not allow raw (or that YAML 1.1 reads as line breaks): escaped.
_NOT_PRINTABLE = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\u2028\u2029\ufeff\ud800-\udfff\ufffe\uffff]")


def _quoted(text: str) -> str:
    quoted = json.dumps(text, ensure_ascii=False)
    return _NOT_PRINTABLE.sub(lambda m: f"\\u{ord(m.group()):04x}", quoted)


def _plain_ok(text: str) -> bool:
    return (_PLAIN.fullmatch(text) is not None and ": " not in text and " #" not in text
            and not text.endswith((":", " ", ",")) and text.lower() not in _AMBIGUOUS_WORDS
            and not _NUMBER_LIKE.fullmatch(text)
            and not any(pattern.match(text) for _, pattern, _ in _CORE_SCHEMA))


def scalar_text(value: Any) -> str:
    """One scalar as YAML text the way ruamel's round trip writes quickstart.yaml: plain when
    safe, else single-quoted (double-quoted only when a character needs an escape)."""
    if isinstance(value, str) and not _plain_ok(value) and not _NOT_PRINTABLE.search(value) and "\n" not in value:
        return "'" + value.replace("'", "''") + "'"
    return _scalar(value)


def _scalar(value: Any) -> str:
    if value is None:
        return "null"
    if value is True or value is False:
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        if value != value:
            return ".nan"
        if value in (float("inf"), float("-inf")):
            return ".inf" if value > 0 else "-.inf"
        text = repr(value)
        return text if ("." in text or "e" in text) else text + ".0"
    if isinstance(value, str):
        return value if _plain_ok(value) else _quoted(value)
    raise TypeError(f"cannot write {type(value).__name__} to a property file")


def _literal(text: str, indent: int) -> str | None:
    """A literal block for multi-line text, or None when only quoting keeps it exact."""
    if "\r" in text or _NOT_PRINTABLE.search(text) or text.startswith((" ", "\n")):
        return None
    lines = text.split("\n")
    if any((line.strip() == "" and line) or line.startswith("\t") for line in lines):
        return None  # a line of only spaces would come back empty; a leading tab is not indentation
    body = text[:-1] if text.endswith("\n") else text
    if text.endswith("\n\n"):
        return None
    chomp = "" if text.endswith("\n") else "-"
    pad = " " * indent
    return f"|{chomp}\n" + "\n".join(pad + line if line else "" for line in body.split("\n"))


def _value(value: Any, indent: int) -> str:
    """What follows `key: ` or `- ` for a scalar or an empty collection."""
    if isinstance(value, dict):
        return "{}"
    if isinstance(value, list):
        return "[]"
    if isinstance(value, str) and "\n" in value:
        literal = _literal(value, indent + 2)
        if literal is not None:
            return literal
    return _scalar(value)


def _emit(value: Any, indent: int, out: list[str]) -> None:
    pad = " " * indent
    if isinstance(value, dict):
        for key, item in value.items():
            name = _scalar(key if isinstance(key, str) else str(key))
            if isinstance(item, dict) and item:
                out.append(f"{pad}{name}:")
                _emit(item, indent + 2, out)
            elif isinstance(item, list) and item:
                out.append(f"{pad}{name}:")
                _emit(item, indent, out)  # sequences in a mapping are not indented
            else:
                out.append(f"{pad}{name}: {_value(item, indent)}")
        return
    for item in value:
        if isinstance(item, (dict, list)) and item:
            start = len(out)
            _emit(item, indent + 2, out)
            out[start] = f"{pad}- {out[start][indent + 2:]}"
        else:
            out.append(f"{pad}- {_value(item, indent)}")


def dump_document(data: Any) -> str:
    """YAML text for a property document: keys in their order, block literals for code."""
    if not isinstance(data, (dict, list)) or not data:
        return _value(data, 0) + "\n"
    out: list[str] = []
    _emit(data, 0, out)
    return "\n".join(out) + "\n"


def load_document(text: str, *, allow_aliases: bool = True, numbers_as_text: bool = False) -> Any:
    """The data of a YAML document (safe: no tags run). Raises YAMLError; also, unless
    ``allow_aliases``, for an anchor or alias (a few hundred bytes of them can stand for
    gigabytes: the "billion laughs")."""
    import yaml

    try:
        if not allow_aliases:
            for event in yaml.parse(text, Loader=_loader(numbers_as_text)):
                if isinstance(event, yaml.AliasEvent) or getattr(event, "anchor", None):
                    mark = event.start_mark
                    raise YAMLError("anchors and aliases (& and *) are not accepted here; write each value out",
                                    mark.line + 1 if mark is not None else None)
        return yaml.load(text, Loader=_loader(numbers_as_text))  # noqa: S506 - a safe loader
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        # The parser's own words: "while scanning a quoted scalar: found unexpected end of stream".
        said = "; ".join(str(part) for part in (getattr(exc, "context", None), getattr(exc, "problem", None)) if part)
        raise YAMLError(said or (str(exc).splitlines()[0] if str(exc) else "not valid YAML"),
                        mark.line + 1 if mark is not None else None) from None


def error_line(exc: Exception) -> int | None:
    """The 1-based line a YAML error points at, when it says."""
    return getattr(exc, "line", None)
