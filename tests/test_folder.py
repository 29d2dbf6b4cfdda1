"""quickstart/folder.py: the one loader of a generated folder, its problems, and who raises them."""

from __future__ import annotations

import pytest

from quickstart.errors import InputError
from quickstart.folder import Problem, load_folder


def test_a_generated_folder_loads_complete_with_no_problems(generated):
    folder = load_folder(generated)
    assert folder.problems == [] and folder.complete
    assert folder.answers.pixel_id == "1234567890" and folder.tags["property"]["platform"] == "web"
    assert folder.forwarding["property"]["platform"] == "edge" and folder.datastream["datastream"]["title"]
    assert folder.require() is folder


@pytest.mark.parametrize("file, damage, words", [
    ("tags.yaml", b"property: [unclosed\n", "not valid YAML (line"),
    ("event-forwarding.yaml", b"\xff\xfe", "is not UTF-8 text (byte 0)"),
    ("tags.yaml", b"- a list\n", "must be a mapping"),
    ("quickstart.yaml", b"version: 1\ndomain: example.com\npixel_id: abc\n", "pixel id"),
    ("snippets/data-layer.js", None, "file is missing"),
])
def test_each_problem_names_its_file_and_only_the_relevant_ones_are_raised(generated, file, damage, words):
    target = generated / file
    if damage is None:
        target.unlink()
    else:
        target.write_bytes(damage)
    folder = load_folder(generated)
    [problem] = folder.problems
    assert problem.file == file and words in problem.message
    with pytest.raises(InputError) as caught:
        folder.require()
    assert caught.value.message.startswith(str(generated / file) + ":")
    others = [name for name in ("quickstart.yaml", "tags.yaml", "event-forwarding.yaml") if name != file]
    folder.require(*others)  # a problem in a file the caller does not read does not stop it


def test_a_misshapen_property_document_is_not_handed_on(generated):
    tags = generated / "tags.yaml"
    tags.write_text(tags.read_text().replace("rules:\n", "rules:\n- just a string\n", 1))
    folder = load_folder(generated)
    assert folder.tags is None and not folder.complete
    assert Problem("tags.yaml", "rules item 1 must be a mapping, not a str") in folder.problems


def test_not_a_folder_is_bad_input(tmp_path):
    with pytest.raises(InputError):
        load_folder(tmp_path / "nope")
