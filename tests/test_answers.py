"""Per-field validation of the answers (DESIGN §2) and the quickstart.yaml round trip."""

from __future__ import annotations

import pytest

from quickstart import answers, catalog
from quickstart.errors import InputError


@pytest.mark.parametrize("raw, clean", [
    ("example.com", "example.com"),
    ("Shop.Example.COM", "shop.example.com"),
    ("bücher.example", "bücher.example"),
    ("a-b.co.uk.", "a-b.co.uk"),
])
def test_domain_accepts_hostnames(raw, clean):
    assert answers.validate_domain(raw) == clean


@pytest.mark.parametrize("raw, hint", [
    ("https://example.com", "scheme"),
    ("example.com/shop", "no path"),
    ("example.com:8080", "no path, port"),
    ("exa mple.com", "spaces"),
    ("localhost", "valid hostname"),
    ("-bad.com", "valid hostname"),
    ("192.168.0.1", "IP address"),
    ("", "empty"),
])
def test_domain_rejects_with_a_reason(raw, hint):
    with pytest.raises(InputError, match=hint):
        answers.validate_domain(raw)


def test_pixel_id_digits_only():
    assert answers.validate_pixel_id(" 1234567890 ") == "1234567890"
    for bad in ("12a4", "", "1" * 21, "-1"):
        with pytest.raises(InputError, match="digits only"):
            answers.validate_pixel_id(bad)


@pytest.mark.parametrize("good", ["window.dataLayer.meta", "window.digitalData", "window.$a._b.c1"])
def test_data_layer_path_good(good):
    assert answers.validate_data_layer_path(good) == good


@pytest.mark.parametrize("bad", ["dataLayer.meta", "window", "window.", "window.data-layer", "window.a..b",
                                 "window.1a", "window.__proto__.x", "window.a;alert(1)", "window.a b"])
def test_data_layer_path_bad(bad):
    with pytest.raises(InputError):
        answers.validate_data_layer_path(bad)


def test_test_event_code_and_datastream():
    assert answers.validate_test_event_code("TEST12345") == "TEST12345"
    assert answers.validate_test_event_code("") is None
    with pytest.raises(InputError, match="letters and digits"):
        answers.validate_test_event_code("TEST-1")
    assert answers.validate_datastream_id("7f3c1a2b-0000-4000-8000-1234567890ab") == "7f3c1a2b-0000-4000-8000-1234567890ab"
    with pytest.raises(InputError):
        answers.validate_datastream_id("bad id")


def test_events_are_catalog_names_in_catalog_order():
    assert answers.validate_events("purchase, PageView,AddToCart,purchase") == ["PageView", "AddToCart", "Purchase"]
    with pytest.raises(InputError, match="unknown event 'Checkout'"):
        answers.validate_events("PageView,Checkout")
    with pytest.raises(InputError, match="at least one"):
        answers.validate_events(" , ")


def test_defaults():
    a = answers.Answers.from_values({"domain": "example.com", "pixel_id": "1"})
    assert a.data_layer_path == "window.dataLayer.meta"
    assert a.events == list(catalog.EVENT_NAMES) and len(a.events) == 18
    assert (a.test_event_code, a.ldu, a.datastream_id) == (None, False, None)
    assert a.path_segments == ["dataLayer", "meta"]


def test_missing_required_names_the_flags():
    with pytest.raises(InputError, match=r"--pixel-id"):
        answers.Answers.from_values({"domain": "example.com"})


def test_answers_file_keeps_comments_on_round_trip(tmp_path):
    a = answers.Answers.from_values({"domain": "example.com", "pixel_id": "1", "events": "PageView,Purchase"})
    text = answers.dump_answers(a)
    edited = text.replace("pixel_id:", "# the production pixel\npixel_id:")
    path = tmp_path / "quickstart.yaml"
    path.write_text(edited)
    values = answers.load_answers_file(path)
    assert values["events"] == ["PageView", "Purchase"]
    again = answers.Answers.from_values({**values, "test_event_code": "TEST1"})
    out = answers.dump_answers(again, edited)
    assert "# the production pixel" in out and "test_event_code: TEST1" in out


@pytest.mark.parametrize("content, message", [
    ("domain: [unclosed", "not valid YAML"),
    ("- a\n- b\n", "mapping"),
    ("domain: example.com\ntoken: abc\n", "holds a token"),
])
def test_bad_answers_file(tmp_path, content, message):
    path = tmp_path / "quickstart.yaml"
    path.write_text(content)
    with pytest.raises(InputError, match=message):
        answers.load_answers_file(path)


def test_unknown_answer_key_rejected():
    with pytest.raises(InputError, match="unknown answer 'pixelid'"):
        answers.check_values({"pixelid": "1"})


@pytest.mark.parametrize("values", [
    {"domain": "example.com", "pixel_id": "1234567890"},
    {"domain": "bücher.example", "pixel_id": "007", "events": "Purchase,Lead", "ldu": True, "test_event_code": "TEST1",
     "data_layer_path": "window.a.b", "default_country": "no", "datastream_id": "7f3c1a2b-0000-4000-8000-1234567890ab"},
    {"domain": "yes.example", "pixel_id": "12", "events": ["PageView"], "test_event_code": "1234"},
])
def test_a_new_answers_file_reads_back_as_its_answers(values):
    """The fast writer of a new quickstart.yaml (no ruamel): the header, then values that the
    round trip (which `update` uses) and the fast loader both read back exactly."""
    from quickstart.answers import HEADER, Answers, _new_answers_text, _yaml, dump_answers, load_answers_file
    from quickstart.yamlio import load_document

    answers = Answers.from_values(values)
    text = _new_answers_text(answers)
    assert text.startswith(HEADER + "version: 1\n")
    expected = {"version": 1, **answers.to_dict()}
    assert load_document(text) == expected
    assert dict(_yaml().load(text)) == expected
    assert dump_answers(answers, text).startswith(HEADER)  # update keeps the file's comments


@pytest.mark.parametrize("bad", ["window.dataLayer\n.meta", "window.a\n.b", "window.a.b\nc"])
def test_a_line_break_inside_the_path_is_refused(bad):
    """`$` matches before a final newline; the checks match whole values."""
    with pytest.raises(InputError):
        answers.validate_data_layer_path(bad)


def test_an_alias_bomb_in_the_answers_file_is_refused_at_once(tmp_path):
    import time

    from quickstart.answers import load_answers_file

    levels = "".join(f'{chr(98 + i)}: &{chr(98 + i)} [{",".join(["*" + chr(97 + i)] * 9)}]\n' for i in range(8))
    bomb = tmp_path / "quickstart.yaml"
    bomb.write_text('a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]\n' + levels)
    assert len(bomb.read_text()) < 400
    started = time.monotonic()
    with pytest.raises(InputError) as caught:
        load_answers_file(bomb)
    assert time.monotonic() - started < 1.0
    assert "anchors or aliases" in caught.value.message and "quickstart.yaml', line 1:" in caught.value.message
    assert len(caught.value.message) < 300


def test_a_huge_answers_file_is_refused(tmp_path):
    from quickstart.answers import load_answers_file

    huge = tmp_path / "quickstart.yaml"
    huge.write_text("domain: " + "a" * 100_000 + ".com\n")
    with pytest.raises(InputError) as caught:
        load_answers_file(huge)
    assert "characters" in caught.value.message and len(caught.value.message) < 200


@pytest.mark.parametrize("content, key", [
    ("domain: example.com\npixel_id: '1'\nevents: 5\n", "events"),
    ("domain: example.com\npixel_id: '1'\nevents: " + "[" * 200 + "]" * 200 + "\n", "events"),
    ("domain: example.com\npixel_id: '1'\nevents: {Purchase: true}\n", "events"),
    ("version: 99\ndomain: example.com\npixel_id: '1'\n", "version"),
    ("version: x\ndomain: example.com\npixel_id: '1'\n", "version"),
    ("version: {}\ndomain: example.com\npixel_id: '1'\n", "version"),
    ("domain: example.com\npixel_id: 0x1F\n", "pixel id"),
    ("domain: example.com\npixel_id: 0o17\n", "pixel id"),
    ("domain: [example.com]\npixel_id: '1'\n", "domain"),
])
def test_odd_answers_are_one_line_naming_the_key(tmp_path, content, key):
    """Exit 2 with one short line naming the key: never a TypeError, RecursionError or coercion."""
    from quickstart.answers import Answers, load_answers_file

    path = tmp_path / "quickstart.yaml"
    path.write_text(content)
    with pytest.raises(InputError) as caught:
        Answers.from_values(load_answers_file(path))
    assert key in caught.value.message and len(caught.value.message) < 400 and "\n" not in caught.value.message


def test_decimal_ids_written_as_numbers_still_read():
    from quickstart.answers import Answers
    from quickstart.yamlio import load_document

    values = load_document("domain: example.com\npixel_id: 1234567890\nldu: true\n", numbers_as_text=True)
    answers = Answers.from_values(values)
    assert answers.pixel_id == "1234567890" and answers.ldu is True


@pytest.mark.parametrize("typed, canonical", [
    ("ｅｘａｍｐｌｅ.com", "example.com"),           # fullwidth
    ("exam\u00adple.com", "example.com"),            # soft hyphen
    ("exa\u200bmple.com", "example.com"),            # zero-width space
    ("\ufeffexample.com", "example.com"),            # BOM
    ("Bücher.Example", "bücher.example"),
])
def test_the_domain_is_stored_as_the_canonical_host(typed, canonical):
    assert answers.validate_domain(typed) == canonical


def test_an_enormous_domain_is_echoed_short():
    with pytest.raises(InputError) as caught:
        answers.validate_domain("a" * 120_000 + "/x")
    assert len(caught.value.message) < 200
