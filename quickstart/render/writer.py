"""Write the output folder (DESIGN §3) atomically, never losing what the user had.

A new folder is rendered into a temporary sibling and renamed into place. An existing folder
is updated file by file: ``.quickstart/manifest.json`` remembers the hash of every file as we
last wrote it, and ``.quickstart/base/`` keeps that last render, so a file the user edited is
merged three ways (their edit + the new render, as ``copier update`` and ``git merge-file`` do):
a clean merge is written (``merged``); where both changed the same lines the file gets conflict
markers and the user's copy goes to ``.quickstart/backup/<time>/`` first (``conflict``); an
edit the new render does not touch stays as it is (``kept``). Every other file is written either
way. ``force`` overwrites edits instead (with the backup). Files get the mode the umask gives;
only ``.env`` is 0600.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from quickstart.answers import Answers, dump_answers
from quickstart.errors import InputError, QuickstartError
from quickstart.fsio import atomic_write, content_hash, dir_mode, file_mode, read_text_or_none
from quickstart.render.files import env_text, gitignore_text, render_files, render_key
from quickstart.layout import (
    ANSWERS_FILE,
    ENV_FILE,
    HEAD_SNIPPET,
    LEGACY_HEAD_SNIPPET,
    MANIFEST_FILE,
    STATE_DIR,
)
from quickstart.state import embed_urls_of, load_state

MOVED = {HEAD_SNIPPET: LEGACY_HEAD_SNIPPET}  # new path -> where an older quickstart wrote it


BASE_DIR = f"{STATE_DIR}/base"  # the last render of each generated file, for three-way merges


CHANGING = ("create", "update", "merged", "conflict", "overwrite", "moved")


@dataclass
class FileStatus:
    path: str
    # create | identical | update | merged (your edit + the new render) | conflict (markers where
    # both changed the same lines, or an edit with no earlier render to merge with) | overwrite
    # (--force) | kept (your edit, which the new render does not touch, or apply leaving it alone)
    # | moved (an older quickstart's path, renamed with its content)
    status: str
    diff: str = ""  # unified diff of what is (or would be) written
    note: str = ""

    def to_dict(self) -> dict[str, str]:
        return {"path": self.path, "status": self.status, "note": self.note}


@dataclass
class WriteResult:
    folder: Path
    files: list[FileStatus] = field(default_factory=list)
    backup_dir: Path | None = None
    dry_run: bool = False

    @property
    def would_change(self) -> bool:
        return any(f.status in CHANGING for f in self.files)

    @property
    def conflicts(self) -> list[FileStatus]:
        return [f for f in self.files if f.status == "conflict"]

    def to_dict(self) -> dict[str, Any]:
        return {"folder": str(self.folder), "dry_run": self.dry_run, "would_change": self.would_change,
                "files": [f.to_dict() for f in self.files],
                "backup_dir": str(self.backup_dir) if self.backup_dir else None}


def unified_diff(relpath: str, old: str | None, new: str) -> str:
    import difflib

    return "".join(difflib.unified_diff((old or "").splitlines(keepends=True), new.splitlines(keepends=True),
                                        fromfile=f"a/{relpath}" if old is not None else "/dev/null",
                                        tofile=f"b/{relpath}"))


def merge_three(base: str, yours: str, ours: str) -> tuple[str, bool]:
    """``yours`` (the user's edit of ``base``) and ``ours`` (the new render) merged; True when
    both changed the same lines (the text then holds git-style conflict markers)."""
    import merge3

    merger = merge3.Merge3(base.splitlines(keepends=True), yours.splitlines(keepends=True),
                           ours.splitlines(keepends=True))
    conflicted = any(region[0] == "conflict" for region in merger.merge_regions())
    lines = merger.merge_lines(name_a="your edit", name_b="quickstart's new render",
                               start_marker="<<<<<<<", mid_marker="=======", end_marker=">>>>>>>")
    return "".join(lines), conflicted


def _read_manifest(folder: Path) -> dict[str, Any]:
    try:
        manifest = json.loads((folder / MANIFEST_FILE).read_text(encoding="utf-8"))
    except (FileNotFoundError, json.JSONDecodeError, OSError, UnicodeDecodeError):
        return {}
    return manifest if isinstance(manifest, dict) else {}


def load_manifest(folder: Path) -> dict[str, str]:
    files = _read_manifest(folder).get("files")
    return files if isinstance(files, dict) else {}


def _unchanged(folder: Path, answers: Answers, embed_urls: dict[str, str], dry_run: bool) -> WriteResult | None:
    """All "identical", from the manifest alone; None when a render is needed."""
    manifest = _read_manifest(folder)
    files, kept = manifest.get("files"), manifest.get("kept")
    if not isinstance(files, dict) or not isinstance(kept, dict) or manifest.get("render_key") != render_key(
            answers, folder.resolve().name, embed_urls):
        return None
    expected = {**files, **kept}
    for relpath, digest in expected.items():
        current = read_text_or_none(folder / relpath)
        if current is None or content_hash(current) != digest:
            return None
    return WriteResult(folder, [FileStatus(relpath, "identical") for relpath in sorted(expected)], dry_run=dry_run)


def _inside(folder: Path, relpath: str) -> Path:
    """``folder/relpath``, refused (exit 2) when a symbolic link on the way leads out of the folder."""
    root = folder.resolve()
    target = folder / relpath
    resolved = target.resolve()
    if resolved != root and root not in resolved.parents:
        raise InputError(f"{target} leads out of {folder} (a symbolic link on the way); quickstart writes only "
                         "inside the folder: replace the link with a real folder or file")
    return target


def _write_all(folder: Path, writes: dict[str, tuple[str, int | None]]) -> list[str]:
    """Write every file or none: each is first staged next to its place (where a full disk or
    a read-only folder shows), then all are swapped in. Returns the paths written."""
    staged: list[tuple[str, str, Path]] = []
    try:
        for relpath, (text, mode) in writes.items():
            path = _inside(folder, relpath)
            path.parent.mkdir(parents=True, exist_ok=True)
            fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
            staged.append((relpath, tmp, path))
            os.fchmod(fd, file_mode() if mode is None else mode)
            with os.fdopen(fd, "w", encoding="utf-8", newline="\n") as handle:
                handle.write(text)
    except BaseException:
        for _, tmp, _ in staged:
            with contextlib.suppress(OSError):
                os.unlink(tmp)
        raise
    for _, tmp, path in staged:
        os.replace(tmp, path)
    return [relpath for relpath, _, _ in staged]


def _new_backup_dir(folder: Path) -> Path:
    """A backup folder of its own: named by the time, with -2, -3, ... when one of that second
    exists already (made with mkdir, so two runs never share one). A backup is never overwritten."""
    base = folder / STATE_DIR / "backup"
    base.mkdir(parents=True, exist_ok=True)
    stamp = time.strftime("%Y%m%d-%H%M%S")
    for number in range(1, 10_000):
        candidate = base / (stamp if number == 1 else f"{stamp}-{number}")
        try:
            candidate.mkdir()
        except FileExistsError:
            continue
        return candidate
    raise InputError(f"{base} holds 10,000 backups of this second; clear it out")


def _save_manifest(folder: Path, hashes: dict[str, str], key: str, kept: dict[str, str]) -> None:
    """The hash of each generated file as written, the render key, and the hashes of the merged
    files (quickstart.yaml, .gitignore) as they are now."""
    manifest = {"files": dict(sorted(hashes.items())), "render_key": key,
                "kept": {relpath: content_hash(text) for relpath, text in sorted(kept.items())}}
    atomic_write(folder / MANIFEST_FILE, json.dumps(manifest, indent=2) + "\n")


def write_folder(target: str | Path, answers: Answers, *, token: str | None = None, force: bool = False,
                 dry_run: bool = False, keep_conflicts: bool = False,
                 embed_urls: dict[str, str] | None = None) -> WriteResult:
    """Render ``answers`` into ``target``; see the module docstring for the rules.

    ``keep_conflicts`` (for ``apply``, which records what it learned): a file the user edited
    that cannot be merged is left alone with status ``kept``. ``embed_urls`` (apply's, per
    stage) default to what state.json recorded.
    """
    folder = Path(target)
    if folder.exists() and not folder.is_dir():
        raise InputError(f"output {str(folder)!r} exists and is not a folder")
    if embed_urls is None:  # what `apply` recorded, unless the caller (apply) says
        embed_urls = embed_urls_of(load_state(folder)) if folder.is_dir() else {}
    if folder.is_dir() and not token:
        unchanged = _unchanged(folder, answers, embed_urls, dry_run)
        if unchanged is not None:
            return unchanged
    name = folder.resolve().name  # "." is the folder's own name
    key = render_key(answers, name, embed_urls)
    files = render_files(answers, name, embed_urls)
    if not folder.exists() or not any(folder.iterdir()):
        return _write_new(folder, answers, files, token, dry_run, key)
    if not (folder / MANIFEST_FILE).exists() and not force:
        foreign = [relpath for relpath in [*files, ANSWERS_FILE] if (folder / relpath).exists()
                   and read_text_or_none(folder / relpath) != files.get(relpath)]
        if foreign:
            raise InputError(f"{folder} holds files quickstart did not write ({', '.join(sorted(foreign)[:3])}); "
                             "nothing was written: choose another folder with -o, or move them away")
    return _write_existing(folder, answers, files, token, force, dry_run, keep_conflicts, key)


def _write_new(folder: Path, answers: Answers, files: dict[str, str], token: str | None, dry_run: bool,
               key: str) -> WriteResult:
    everything = dict(files)
    everything[ANSWERS_FILE] = dump_answers(answers)
    everything[".gitignore"] = gitignore_text(None)
    result = WriteResult(folder, [FileStatus(p, "create", unified_diff(p, None, everything[p])) for p in sorted(everything)],
                         dry_run=dry_run)
    if token:
        result.files.append(FileStatus(ENV_FILE, "create", note="the token, mode 0600"))
    if dry_run:
        return result
    parent = folder.resolve().parent
    parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(dir=parent, prefix=f".{folder.resolve().name}.quickstart-"))
    try:
        for relpath, text in everything.items():
            atomic_write(staging / relpath, text)
        if token:
            atomic_write(staging / ENV_FILE, env_text(None, token), mode=0o600)
        (staging / STATE_DIR).mkdir(exist_ok=True)
        _save_bases(staging, files)
        _save_manifest(staging, {relpath: content_hash(text) for relpath, text in files.items()}, key,
                       {ANSWERS_FILE: everything[ANSWERS_FILE], ".gitignore": everything[".gitignore"]})
        os.chmod(staging, dir_mode())
        if folder.exists():  # an empty folder: rename over it
            folder.rmdir()
        try:
            os.rename(staging, folder)
        except OSError:
            if folder.exists():  # someone else's files arrived in the meantime
                raise QuickstartError(f"another quickstart is writing {folder}; nothing was written") from None
            raise
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    return result


def _save_bases(folder: Path, files: dict[str, str]) -> None:
    for relpath, text in files.items():
        atomic_write(folder / BASE_DIR / relpath, text)


def _classify(folder: Path, relpath: str, current: str | None, new: str, recorded: str | None, force: bool,
              keep_conflicts: bool) -> tuple[str, str | None, str]:
    """(status, the text to write or None, a note) for one generated file."""
    if current is None:
        return "create", new, ""
    if current == new:
        return "identical", None, ""
    if recorded == content_hash(current):
        return "update", new, ""  # ours, unedited: safe to replace
    if force:
        return "overwrite", new, "your copy is in the backup"
    base = read_text_or_none(_inside(folder, f"{BASE_DIR}/{relpath}"))
    if base is None or base == "\0binary":
        if keep_conflicts:
            return "kept", None, "your edit"
        return "conflict", None, "edited, with no earlier render to merge with: --force overwrites it (with a backup)"
    if base == new:
        return "kept", None, "your edit; the new render does not change this file"
    merged, conflicted = merge_three(base, current, new)
    if not conflicted:
        return "merged", merged, "your edit + the new render"
    if keep_conflicts:
        return "kept", None, "your edit"
    return "conflict", merged, "conflict markers where you and the new render changed the same lines; your copy is in the backup"


def _write_existing(folder: Path, answers: Answers, files: dict[str, str], token: str | None, force: bool,
                    dry_run: bool, keep_conflicts: bool, key: str) -> WriteResult:
    hashes = load_manifest(folder)
    result = WriteResult(folder, dry_run=dry_run)
    writes: dict[str, tuple[str, int | None]] = {}
    backups: list[str] = []
    moves = {new: old for new, old in MOVED.items() if new in files and not (folder / new).exists()
             and (folder / old).is_file()}
    for relpath in sorted(files):
        new = files[relpath]
        source = moves.get(relpath, relpath)  # an older quickstart's path: your edits move along
        current = read_text_or_none(folder / source)
        status, text, note = _classify(folder, source, current, new, hashes.get(source), force, keep_conflicts)
        if source != relpath:
            note = "; ".join(filter(None, [f"moved from {source}", note]))
            if text is None and status != "conflict":  # the same content (or your edit) under the new name
                text, status = current, "moved"
        result.files.append(FileStatus(relpath, status, unified_diff(relpath, current, text) if text is not None else "",
                                       note))
        if text is not None:
            writes[relpath] = (text, None)
        if status == "overwrite" or (status == "conflict" and text is not None):
            backups.append(source)

    # The answers file and .gitignore are merged, never conflicts: comments and user lines survive.
    for relpath, make in ((ANSWERS_FILE, lambda old: dump_answers(answers, old)), (".gitignore", gitignore_text)):
        old = read_text_or_none(folder / relpath)
        new = make(old)
        status = "identical" if old == new else ("create" if old is None else "update")
        result.files.append(FileStatus(relpath, status, unified_diff(relpath, old, new) if status != "identical" else ""))
        if status != "identical":
            writes[relpath] = (new, None)
    if token:
        old_env = read_text_or_none(folder / ENV_FILE)
        writes[ENV_FILE] = (env_text(old_env, token), 0o600)
        result.files.append(FileStatus(ENV_FILE, "create" if old_env is None else "update", note="the token, mode 0600"))
    result.files.sort(key=lambda f: f.path)
    if dry_run:
        return result

    if backups:
        result.backup_dir = _new_backup_dir(folder)
        for relpath in backups:
            destination = result.backup_dir / relpath
            destination.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(folder / relpath, destination)
    _write_all(folder, writes)
    for new, old in moves.items():
        if new in writes:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(folder / old)
            with contextlib.suppress(FileNotFoundError):
                os.unlink(folder / BASE_DIR / old)
            hashes.pop(old, None)
    statuses = {f.path: f.status for f in result.files}
    rendered = {relpath: text for relpath, text in files.items() if statuses[relpath] not in ("kept", "conflict")
                or relpath in writes}
    for relpath, text in rendered.items():
        hashes[relpath] = content_hash(text)  # what we rendered: a merged file still differs, so stays the user's
    (folder / STATE_DIR).mkdir(exist_ok=True)
    _save_bases(folder, rendered)
    # A file the user edited is not what this key renders: no answering from the manifest.
    edited = any(f.status in ("kept", "merged", "conflict") for f in result.files)
    kept = {relpath: writes.get(relpath, (read_text_or_none(folder / relpath) or "", None))[0]
            for relpath in (ANSWERS_FILE, ".gitignore")}
    _save_manifest(folder, hashes, "" if edited else key, kept)
    return result
