"""The writer's decision for each file (quickstart/render/writer.py): one case per status."""

from __future__ import annotations

from pathlib import Path

import pytest

from quickstart.fsio import content_hash
from quickstart.render.writer import BASE_DIR, _classify, merge_three

BASE = "line 1\nline 2\nline 3\nline 4\n"
RENDER = "line 1\nline 2 (new render)\nline 3\nline 4\n"


def classify(folder: Path, current: str | None, new: str, *, base: str | None = BASE, recorded: str | None = None,
             force: bool = False, keep: bool = False) -> tuple[str, str | None]:
    if base is not None:
        (folder / BASE_DIR).mkdir(parents=True, exist_ok=True)
        (folder / BASE_DIR / "file.txt").write_text(base)
    status, text, _ = _classify(folder, "file.txt", current, new, recorded, force, keep)
    return status, text


@pytest.mark.parametrize("current, recorded, force, keep, base, status", [
    (None, None, False, False, BASE, "create"),
    (RENDER, None, False, False, BASE, "identical"),
    (BASE, content_hash(BASE), False, False, BASE, "update"),          # ours, unedited
    ("mine\n", None, True, False, BASE, "overwrite"),                 # --force
    ("mine\n", None, False, False, None, "conflict"),                 # edited, no base to merge from
    ("mine\n", None, False, True, None, "kept"),                      # apply leaves an edit alone
    (BASE + "line 5 (mine)\n", None, False, False, BASE, "merged"),   # both changes fit
    ("line 1\nline 2 (mine)\nline 3\nline 4\n", None, False, False, BASE, "conflict"),  # the same line
    ("line 1\nline 2 (mine)\nline 3\nline 4\n", None, False, True, BASE, "kept"),
])
def test_each_status(tmp_path, current, recorded, force, keep, base, status):
    assert classify(tmp_path, current, RENDER, base=base, recorded=recorded, force=force, keep=keep)[0] == status


def test_an_edit_the_new_render_does_not_touch_is_kept(tmp_path):
    assert classify(tmp_path, "mine\n", BASE, base=BASE) == ("kept", None)


def test_merged_and_conflicting_texts(tmp_path):
    status, text = classify(tmp_path, BASE + "line 5 (mine)\n", RENDER)
    assert status == "merged" and text == RENDER + "line 5 (mine)\n"
    status, text = classify(tmp_path, "line 1\nline 2 (mine)\nline 3\nline 4\n", RENDER)
    assert status == "conflict"
    assert text == ("line 1\n<<<<<<< your edit\nline 2 (mine)\n=======\nline 2 (new render)\n"
                    ">>>>>>> quickstart's new render\nline 3\nline 4\n")


def test_merge_three_reports_whether_both_changed_the_same_lines():
    assert merge_three(BASE, BASE, RENDER) == (RENDER, False)
    assert merge_three(BASE, RENDER, BASE) == (RENDER, False)
    assert merge_three(BASE, "x\n" + BASE, RENDER)[1] is False
    assert merge_three(BASE, BASE.replace("line 2", "two"), RENDER)[1] is True
