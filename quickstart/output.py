"""What the CLI prints: plans, results and progress as text. The core returns data; this styles it.

Colour only on a terminal, never with ``NO_COLOR`` set (https://no-color.org) or through a pipe.
"""

from __future__ import annotations

import difflib
import json
import os
import sys
from collections import Counter
from pathlib import Path
from typing import Any, TextIO

from quickstart.adobe.execute import Progress
from quickstart.adobe.planner import Change, Diff, Plan
from quickstart.adobe.resources import is_reference
from quickstart.adobe.spec import SCOPE_TITLES

SYMBOLS = {"create": "+", "update": "~", "retry": "~", "wait": "~", "remove": "-", "delete": "x", "run": "»"}
COLOURS = {"+": "32", "~": "33", "-": "31", "x": "31", "»": "36"}
VALUE_WIDTH = 72


def colour_enabled(stream: TextIO | None = None) -> bool:
    stream = stream or sys.stdout
    return not os.environ.get("NO_COLOR") and hasattr(stream, "isatty") and stream.isatty()


def _paint(text: str, code: str, colour: bool) -> str:
    return f"\033[{code}m{text}\033[0m" if colour else text


# ---------------------------------------------------------------------------------------------
# init and update: a row per file

STATUS_COLOURS = {"create": "32", "update": "33", "merged": "36", "conflict": "1;31", "overwrite": "31", "kept": "35"}


def format_write_result(result: Any, *, colour: bool = False, show_diff: bool = False) -> str:
    verb = "would write" if result.dry_run else "wrote"
    changing = [f for f in result.files if f.status not in ("identical", "kept")]
    if not changing:
        kept = [f.path for f in result.files if f.status == "kept"]
        return f"nothing changed in {result.folder}/: every file is identical" + (
            f" (your edits kept in {', '.join(kept)})" if kept else "")
    lines = [f"{verb} {result.folder}/"]
    width = max(len(f.status) for f in result.files)
    for item in result.files:
        status = f"{item.status:<{width}}"
        if item.status in STATUS_COLOURS:
            status = _paint(status, STATUS_COLOURS[item.status], colour)
        lines.append(f"  {status}  {item.path}" + (f"  ({item.note})" if item.note else ""))
    if result.backup_dir is not None:
        lines.append(f"your edited copies were saved in {result.backup_dir}/")
    if show_diff:
        for item in changing:
            if item.diff:
                lines += ["", item.diff.rstrip("\n")]
    return "\n".join(lines)


def conflict_message(result: Any) -> str:
    marked = [f.path for f in result.conflicts if "markers" in f.note]
    unmerged = [f.path for f in result.conflicts if "markers" not in f.note]
    parts = []
    if marked:
        parts.append(f"resolve the conflict markers (<<<<<<<) in {', '.join(marked)}")
    if unmerged:
        parts.append(f"{', '.join(unmerged)} could not be merged (edited, no earlier render): move your change into "
                     "quickstart.yaml, or --force to overwrite (with a backup)")
    return "; ".join(parts) + "; every other file was written"


# ---------------------------------------------------------------------------------------------
# apply


def _value(value: Any, absent: bool = False) -> str:
    if absent:
        return "(absent)"
    if is_reference(value):
        return "(known after apply)"
    if isinstance(value, dict) and any(is_reference(v) for v in value.values()):
        value = {k: "(known after apply)" if is_reference(v) else v for k, v in value.items()}
    text = json.dumps(value, ensure_ascii=False, sort_keys=True)
    return text if len(text) <= VALUE_WIDTH else text[:VALUE_WIDTH - 1] + "…"


def _diff_lines(diff: Diff) -> list[str]:
    old, new = diff.old, diff.new
    if isinstance(old, str) and isinstance(new, str) and ("\n" in old or "\n" in new):
        body = list(difflib.unified_diff(old.splitlines(), new.splitlines(), lineterm="", n=1))[2:]
        shown = body[:12] + ([f"… {len(body) - 12} more lines"] if len(body) > 12 else [])
        return [f"~ {diff.path}:"] + [f"    {line}" for line in shown]
    return [f"~ {diff.path}: {_value(old, diff.old_absent)} -> {_value(new, diff.new_absent)}"]


def _change_line(change: Change, colour: bool) -> list[str]:
    symbol = SYMBOLS.get(change.action, "?")
    noun = "library" if change.kind == "build" else change.kind
    verb = {"run": "build", "remove": "remove from library", "delete": "delete", "wait": "wait for",
            "retry": "retry"}.get(change.action, "")
    head = f"{_paint(symbol, COLOURS.get(symbol, '0'), colour)} {verb + ' ' if verb else ''}{noun} {change.name}"
    if change.detail:
        head += f"  ({change.detail})"
    return [head] + [f"    {line}" for diff in change.diffs for line in _diff_lines(diff)]


def format_plan(plan: Plan, colour: bool = False) -> str:
    """terraform-style: one line per change, old -> new values under updates, then the counts."""
    lines: list[str] = []
    creating_rules = {c.name for c in plan.changes if c.kind == "rule" and c.action == "create"}
    for scope in ("datastream", "edge", "web"):
        changes = [c for c in plan.changes if c.scope == scope]
        if not changes:
            continue
        name = {"edge": plan.edge_name, "web": plan.web_name}.get(scope)
        lines.append(f"{SCOPE_TITLES[scope]}" + (f" {name!r}" if name else "") + ":")
        shown = [c for c in changes if c.action not in ("unchanged", "revise")
                 and not (c.kind == "rule component" and c.action == "create" and c.name.split(" / ")[0] in creating_rules)]
        components = Counter(c.name.split(" / ")[0] for c in changes if c.kind == "rule component" and c.action == "create")
        if scope == "datastream" and changes[0].action == "unchanged":
            lines.append(f"  = {changes[0].name}: {changes[0].id}")
            continue
        for change in shown:
            entry = _change_line(change, colour)
            if change.kind == "rule" and change.action == "create" and components.get(change.name):
                entry[0] += f"  ({components[change.name]} components)"
            lines += [f"  {line}" for line in entry]
        unchanged = Counter(c.kind for c in changes if c.action == "unchanged")
        if unchanged:
            lines.append("  unchanged: " + ", ".join(_count(n, kind) for kind, n in unchanged.items()))
    counts = plan.counts()
    if plan.has_changes:
        lines.append(f"Plan: {counts['add']} to add, {counts['change']} to change, {counts['remove']} to remove from "
                     f"library, {counts['delete']} to delete; {_count(counts['builds'], 'build')}.")
    else:
        lines.append("No changes: Adobe matches the folder.")
    for missing in plan.missing:
        lines.append(f"missing: {missing}")
    for note in plan.notes:
        lines.append(f"note: {note}")
    return "\n".join(lines)


def _count(n: int, noun: str) -> str:
    plural = noun[:-1] + "ies" if noun.endswith("y") else noun + ("es" if noun.endswith("h") else "s")
    return f"{n} {noun if n == 1 else plural}"


def format_apply_summary(result: Any, folder: str | Path) -> str:
    done = set(result.done)
    counts = Counter(c.action for c in result.plan.changes if c.key in done and c.action != "revise")
    words = (("create", "created"), ("update", "updated"), ("remove", "removed from library"), ("delete", "deleted"),
             ("run", "built"))
    # Removals happen in the library change; they are done when it is.
    library_done = any(c.kind == "library" and c.key in done for c in result.plan.changes)
    counts["remove"] = sum(1 for c in result.plan.changes if c.action == "remove") if library_done else 0
    summary = ", ".join(f"{counts[action]} {word}" for action, word in words if counts.get(action))
    lines = [f"done in {result.seconds} s: {summary or 'nothing to change'}; "
             f"{result.calls} API calls, {result.mutating_calls} of them changes"
             + (f", {result.retries} retried" if result.retries else "")]
    if result.files_written:
        lines.append("updated in the folder: " + ", ".join(result.files_written))
    lines += list(result.next_steps)
    if result.embed_code:
        lines += ["", "embed code (development), also in snippets/head.html:", f"  {result.embed_code}", "",
                  "next:",
                  f"  paste {Path(folder) / 'snippets' / 'head.html'} into the <head> of your development site",
                  f"  quickstart validate {folder} --site https://<your site>   # check it in a browser"]
    return "\n".join(lines)


def format_progress(event: Progress) -> str:
    if event.type == "step":
        width = len(str(event.total))
        return f"[{event.index:>{width}}/{event.total}] {event.text}"
    return f"  {event.text}"
