"""What the CLI prints: reports, plans, results and progress as text. The core returns data; this styles it.

Colour only on a terminal, never with ``NO_COLOR`` set (https://no-color.org) or through a pipe.
"""

from __future__ import annotations

import difflib
import json
import os
import sys
from collections import Counter
from pathlib import Path
from typing import TYPE_CHECKING, Any, TextIO

if TYPE_CHECKING:  # the Adobe modules load requests: only `apply` pays for them
    from quickstart.adobe.execute import Progress
    from quickstart.adobe.plan import Change, Diff, Plan

SYMBOLS = {"create": "+", "update": "~", "retry": "~", "wait": "~", "remove": "-", "delete": "x", "run": "»",
           "submit": "~", "approve": "~", "reject": "~", "move": "~"}
COLOURS = {"+": "32", "~": "33", "-": "31", "x": "31", "»": "36"}
VALUE_WIDTH = 72


def colour_enabled(stream: TextIO | None = None) -> bool:
    stream = stream or sys.stdout
    return not os.environ.get("NO_COLOR") and hasattr(stream, "isatty") and stream.isatty()


def _paint(text: str, code: str, colour: bool) -> str:
    return f"\033[{code}m{text}\033[0m" if colour else text


# ---------------------------------------------------------------------------------------------
# init and update: a row per file

STATUS_COLOURS = {"create": "32", "update": "33", "merged": "36", "conflict": "1;31", "overwrite": "31", "kept": "35",
                  "moved": "33"}


def format_next_steps(folder: Path, answers: Any, *, token_known: bool) -> str:
    """What to run next after init, ready to paste into a shell (every path is quoted for it)."""
    import shlex

    from quickstart.layout import DATA_LAYER_SNIPPET, HEAD_SNIPPET
    from quickstart.settings import TOKEN_ENV
    from quickstart.state import embed_urls_of, load_state

    shell = shlex.quote(str(folder))

    def path(relpath: str) -> str:
        return shlex.quote(str(Path(folder, relpath)))

    steps = ["", "next:"]
    if not answers.test_event_code:
        steps.append(f"  - get a test event code (Events Manager > Test Events): quickstart update {shell} --test-event-code CODE")
    if not token_known:
        steps.append(f"  - export {TOKEN_ENV}=... (Events Manager > your pixel > Settings > Generate access token), "
                     f"or keep it in the folder's .env: quickstart update {shell} --store-token --token-stdin")
    steps.append(f"  quickstart validate {shell}        # checks + test events at Meta")
    applied = bool(embed_urls_of(load_state(folder)))
    if applied:
        steps.append(f"  quickstart apply {shell} --plan    # what changed since the last apply")
        steps.append(f"  paste {path(HEAD_SNIPPET)} into the <head> of a test page (it loads the development library)")
    else:
        steps.append(f"  quickstart apply {shell} --plan    # then without --plan, to create it in Adobe")
        steps.append(f"  after apply: paste {path(HEAD_SNIPPET)} into the <head> of a test page "
                     "(apply writes the development library's embed into it)")
    steps.append(f"  send events with metaConversion.track(...) as {path(DATA_LAYER_SNIPPET)} shows; "
                 f"see {path('README.md')}")
    return "\n".join(steps)


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
# validate


def format_validate_report(report: Any, colour: bool = False) -> str:
    """validate's report for a terminal: findings, the event table, Meta's answer, the verdict."""
    lines: list[str] = []
    errors = [f for f in report.findings if f.severity == "error"]
    warnings = [f for f in report.findings if f.severity == "warning"]
    lines.append(f"Static checks of {report.folder}: {count(len(errors), 'error')}, {count(len(warnings), 'warning')}")
    for finding in errors + warnings:
        word = _paint(finding.severity, "31" if finding.severity == "error" else "33", colour)
        lines.append(f"  {word}: {finding}")
    if report.events:
        lines.append("")
        header = {"static": "Test events", "dry-run": "Test events (dry run: nothing sent)", "send": "Test events"}[report.mode]
        target = f"pixel {report.pixel_id}, Graph {report.graph_version}"
        code = f"test_event_code {report.test_event_code}" if report.test_event_code else "NO test event code (live events)"
        lines.append(f"{header} — {target}, {code}")
        lines.extend(_event_table(report))
    if report.mode == "send" and report.requests:
        lines.append("")
        for index, request in enumerate(report.requests, 1):
            prefix = f"request {index}: " if len(report.requests) > 1 else ""
            if request.accepted:
                lines.append(f"{prefix}events_received: {request.events_received} of {request.events}"
                             + (f" (after {request.attempts} attempts)" if request.attempts > 1 else ""))
            else:
                lines.append(f"{prefix}{_paint('REJECTED', '1;31', colour)}: {request.error}")
            lines.append(f"{prefix}fbtrace_id: {request.fbtrace_id or '-'}")
            lines.append(f"{prefix}messages: {'; '.join(request.messages) if request.messages else 'none'}")
    quality = report.match_quality()
    if quality:
        lines.append("")
        advice = (f"to raise it, map: {', '.join(quality['add'][:5])}" if quality["add"]
                  else "every customer-information key is mapped")
        lines.append(f"Event Match Quality (local estimate): {quality['rating']}; {advice}")
        if quality["filled_by_real_visits"]:
            lines.append(f"  mapped, filled only by real visits: {', '.join(quality['filled_by_real_visits'])}")
        lines.append(f"  ({quality['note']})")
    for request in report.dry_run_requests:
        lines.append("")
        lines.append(f"{request['method']} {request['url']}")
        lines.append(json.dumps(request["json"], indent=2, ensure_ascii=False))
    for note in report.notes:
        lines.append(f"note: {note}")
    lines.append("")
    ok, failed = _paint("OK", "1;32", colour), _paint("FAILED", "1;31", colour)
    if report.mode == "send" and report.ok:
        accepted = "the test event" if len(report.events) == 1 else f"all {len(report.events)} test events"
        lines.append(f"{ok}: Meta accepted {accepted}; see Events Manager > Test Events "
                     f"({report.test_event_code or 'live'}).")
    elif report.ok:
        lines.append(f"{ok}: static checks passed." if report.mode == "static" else f"{ok}: payloads built and preflighted; nothing sent.")
    elif any(not r.accepted for r in report.requests):
        lines.append(f"{failed}: Meta rejected the test events (see REJECTED above); fix that and run `quickstart validate` again.")
    else:
        lines.append(f"{failed}: fix the errors above, then run `quickstart validate` again.")
    return "\n".join(lines)


def _event_table(report: Any) -> list[str]:
    def yes(value: bool | None) -> str:
        return "-" if value is None else ("yes" if value else "NO")

    rows = [("event", "sent", "accepted", "event_id", "dedup pixel/capi", "warnings")]
    for event in report.events:
        dedup = report.dedup.get(event.name)
        dedup_text = f"{yes(dedup.pixel_event_id)}/{yes(dedup.capi_event_id)}" if dedup else "-"
        rows.append((event.name, yes(event.sent), yes(event.accepted), event.event_id, dedup_text,
                     "; ".join(event.warnings) or "-"))
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]) - 1)]
    return ["  " + "  ".join(cell.ljust(width) for cell, width in zip(row, widths)) + "  " + row[-1] for row in rows]


# ---------------------------------------------------------------------------------------------
# validate --site

SITE_COLOURS = {"pass": "32", "fail": "1;31", "skip": "33"}


def format_site_rows(rows: list[Any], url: str, colour: bool = False) -> str:
    width = max(len(row.name) for row in rows)
    lines = [f"site check: {url}"]
    for row in rows:
        status = _paint(f"{row.status.upper():4}", SITE_COLOURS.get(row.status, "0"), colour)
        lines.append(f"  {status}  {row.name:<{width}}  {row.why}")
        if row.status == "fail" and row.what_to_do:
            lines.append(f"  {'':4}  {'':<{width}}  -> {row.what_to_do}")
    counts = {status: sum(row.status == status for row in rows) for status in ("pass", "fail", "skip")}
    lines.append(f"{counts['pass']} passed, {counts['fail']} failed, {counts['skip']} skipped")
    return "\n".join(lines)


def site_rows_json(rows: list[Any], url: str, folder: str | Path) -> str:
    from dataclasses import asdict

    return json.dumps({"url": url, "folder": str(folder), "ok": not any(row.status == "fail" for row in rows),
                       "checks": [asdict(row) for row in rows]}, indent=2)


# ---------------------------------------------------------------------------------------------
# apply


def _value(value: Any, absent: bool = False) -> str:
    from quickstart.adobe.resources import is_reference

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
            "retry": "retry", "submit": "submit", "approve": "approve", "reject": "reject",
            "move": "move"}.get(change.action, "")
    head = f"{_paint(symbol, COLOURS.get(symbol, '0'), colour)} {verb + ' ' if verb else ''}{noun} {change.name}"
    if change.detail:
        head += f"  ({change.detail})"
    return [head] + [f"    {line}" for diff in change.diffs for line in _diff_lines(diff)]


def format_plan(plan: Plan, colour: bool = False) -> str:
    """terraform-style: one line per change, old -> new values under updates, then the counts."""
    from quickstart.adobe.spec import SCOPE_TITLES

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
            lines.append("  unchanged: " + ", ".join(count(n, kind) for kind, n in unchanged.items()))
    counts = plan.counts()
    if plan.has_changes:
        lines.append(f"Plan: {counts['add']} to add, {counts['change']} to change, {counts['remove']} to remove from "
                     f"library, {counts['delete']} to delete; {count(counts['builds'], 'build')}.")
    elif plan.target:
        lines.append(f"No changes: {plan.target} already has this setup.")
    else:
        lines.append("No changes: Adobe matches the folder.")
    for missing in plan.missing:
        lines.append(f"missing: {missing}")
    for note in plan.notes:
        lines.append(f"note: {note}")
    return "\n".join(lines)


def count(n: int, noun: str) -> str:
    """"1 rule", "2 rules", "3 libraries"."""
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
        from quickstart.layout import head_snippet

        lines += ["", f"embed code (development), also in {head_snippet('development')}:", f"  {result.embed_code}", "",
                  "next:",
                  f"  paste {Path(folder) / head_snippet('development')} into the <head> of your development or test "
                  "pages (never the live site: each apply changes that library at once)",
                  f"  quickstart validate {folder} --site https://<your test page>   # check it in a browser",
                  f"  quickstart publish {folder} --to staging    # then --to production; "
                  f"{head_snippet('staging')} and {head_snippet('production')} are their snippets"]
    return "\n".join(lines)


def format_publish_summary(result: Any, folder: str | Path) -> str:
    from quickstart.layout import head_snippet

    target = result.plan.target
    done = set(result.done)
    built = [c for c in result.plan.changes if c.kind == "build" and c.key in done]
    lines = [f"done in {result.seconds} s: " + (f"{count(len(built), 'library')} built on {target}" if built
                                               else f"nothing to change: {target} already has it")
             + f"; {result.calls} API calls, {result.mutating_calls} of them changes"]
    snippet = Path(folder) / head_snippet(target)
    if target == "staging":
        lines += ["", "next:", f"  paste {snippet} into the <head> of your staging site (never the live one)",
                  f"  quickstart validate {folder} --site https://<your staging site>",
                  f"  quickstart publish {folder} --to production"]
    else:
        lines += ["", "next:", f"  the live site's <head> needs {snippet} (paste it once; later publishes keep its URL)",
                  f"  quickstart validate {folder} --site https://<your live site> --event Purchase"]
    return "\n".join(lines)


def format_progress(event: Progress) -> str:
    if event.type == "step":
        width = len(str(event.total))
        return f"[{event.index:>{width}}/{event.total}] {event.text}"
    return f"  {event.text}"
