"""The property files' YAML: libyaml speed, YAML 1.2 meaning, a stable style, silent restyling."""

from __future__ import annotations

import io
import json
import math

import pytest
from ruamel.yaml import YAML

from quickstart.answers import Answers
from quickstart.blueprint import build_all
from quickstart.cli import cli
from quickstart.fsio import content_hash
from quickstart.layout import MANIFEST_FILE
from quickstart.yamlio import dump_document, load_document

VARIANTS = [{"domain": "example.com", "pixel_id": "1"},
            {"domain": "bücher.example", "pixel_id": "42", "events": "Purchase", "ldu": True, "test_event_code": "T1",
             "data_layer_path": "window.x.y", "default_country": "DE"}]


@pytest.mark.parametrize("values", VARIANTS)
def test_documents_round_trip_and_render_the_same_twice(values):
    for name, document in build_all(Answers.from_values(values)).items():
        text = dump_document(document)
        assert load_document(text) == document, name
        assert dump_document(load_document(text)) == text, name  # a stable style
        assert YAML(typ="safe", pure=True).load(text) == document, name  # any YAML 1.2 reader agrees


def test_scalars_mean_what_yaml_1_2_says_as_ruamel_read_them():
    samples = ["yes", "no", "on", "off", "Yes", "NO", "true", "False", "0123", "1:20", "0o17", "0x1F", "1.5",
               "1e3", ".inf", "-.inf", ".nan", "~", "null", "", "12", "-7", "+3", "0", "3.", "+.5", "1E5", "'quoted'"]
    text = "".join(f"k{i}: {value}\n" for i, value in enumerate(samples))
    ours, ruamels = load_document(text), YAML(typ="safe", pure=True).load(text)
    for index, sample in enumerate(samples):
        a, b = ours[f"k{index}"], ruamels[f"k{index}"]
        assert type(a) is type(b) and (a == b or (isinstance(a, float) and math.isnan(a) and math.isnan(b))), sample
    assert ours["k1"] == "no" and ours["k8"] == 123  # not Norway's false, not octal
    # Strings that would read as something else are quoted when written.
    data = {"values": ["yes", "0123", "true", "12", "1.5", "null", "", "a\nb\n"]}
    assert load_document(dump_document(data)) == data


def test_a_folder_in_the_old_style_is_restyled_silently(tmp_path, runner):
    """Files rendered by an earlier quickstart (ruamel's style) that the user did not edit are
    re-rendered by `update` without a conflict; the next update finds nothing to do."""
    folder = tmp_path / "site"
    assert runner.invoke(cli, ["init", "example.com", "--pixel-id", "1", "--yes", "-o", str(folder)]).exit_code == 0
    manifest_path = folder / MANIFEST_FILE
    manifest = json.loads(manifest_path.read_text())
    for name in ("tags.yaml", "event-forwarding.yaml"):
        path = folder / name
        yaml = YAML()
        yaml.indent(mapping=2, sequence=4, offset=2)
        yaml.width = 4096
        buffer = io.StringIO()
        yaml.dump(load_document(path.read_text()), buffer)
        path.write_text(buffer.getvalue())
        manifest["files"][name] = content_hash(buffer.getvalue())  # as the earlier version recorded it
    manifest = {"files": manifest["files"]}  # an earlier version's manifest: hashes only
    manifest_path.write_text(json.dumps(manifest))
    result = runner.invoke(cli, ["update", str(folder)])
    assert result.exit_code == 0, result.output
    statuses = dict(line.split()[::-1] for line in result.output.splitlines()[1:])
    assert statuses["tags.yaml"] == statuses["event-forwarding.yaml"] == "update"
    assert "conflict" not in statuses.values()
    again = runner.invoke(cli, ["update", str(folder), "--dry-run"])
    assert again.exit_code == 0, again.output


def test_any_string_comes_back_exactly_through_both_readers():
    """A fuzz of awkward strings (indicators, quotes, comments, line breaks YAML 1.1 knows,
    control characters, words that mean booleans) in every position the emitter writes."""
    import random

    rng = random.Random(20261203)
    alphabet = list("abcXYZ019 :#-'\"\\\n\t{}[],&*!|>%@`?~=<.") + [
        "\u2028", "\x85", "é", "정", "\ufeff", "\x00", "\x7f", "  ", "\r", "yes", "no", "null", "1:2", "0x1", ".5",
        "e5", "- ", ": ", " #"]
    ruamel = YAML(typ="safe", pure=True)
    for _ in range(3000):
        text = "".join(rng.choice(alphabet) for _ in range(rng.randint(0, 14)))
        document = {"k": text, "l": [text, {"m": text, "n": [text, [text]]}], (text or "e"): [1, 2.5, None, True, {}, []]}
        written = dump_document(document)
        assert load_document(written) == document, repr(text)
        assert ruamel.load(written) == document, repr(text)
