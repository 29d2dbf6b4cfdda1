"""Customer-information normalisation and hashing (quickstart.meta.normalize).

Vectors: Meta's own (reference/meta-capi.md §3.1), then a cross-check against the official
facebook-business SDK where the two agree, and the documented divergences (§4.1, §4.7, §11)
asserted as differences so that list stays true.
"""

from __future__ import annotations

import hashlib
import random
import unicodedata

import phonenumbers
import pytest
from facebook_business.adobjects.serverside.normalize import Normalize

from quickstart.catalog import USER_FIELDS, USER_SAMPLES
from quickstart.meta import normalize as normalize_module
from quickstart.meta.normalize import (
    NEVER_HASHED,
    USER_DATA_KEYS,
    build_user_data,
    hash_user_value,
    normalize,
    unusable_user_fields,
)


def sha256(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


# --- Meta's documented vectors (§3.1) ---------------------------------------------------------

# (key, input, default country, normalised, sha256 — None where the doc gives no hash)
META_DOC_VECTORS = [
    ("em", "John_Smith@gmail.com", "US", "john_smith@gmail.com",
     "62a14e44f765419d10fea99367361a727c12365e2520f32218d505ed9aa0f62f"),
    ("ph", "(650)555-1212", "US", "16505551212",
     "e323ec626319ca94ee8bff2e4c87cf613be6ea19919ed1364124e16807ab3176"),
    ("fn", "Mary", "US", "mary", "6915771be1c5aa0c886870b6951b03d7eafc121fea0e80a5ea83beb7c449f4ec"),
    ("fn", "정", "US", "정", "8fa8cd9c440be61d0151429310034083132b35975c4bea67fdd74158eb51db14"),
    ("fn", "Valéry", "US", "valéry", "08e1996b5dd49e62a4b4c010d44e4345592a863bb9f8e3976219bac29417149c"),
    ("ln", "Mary", "US", "mary", "6915771be1c5aa0c886870b6951b03d7eafc121fea0e80a5ea83beb7c449f4ec"),
    ("db", "2/16/1997", "US", "19970216", "01acdbf6ec7b4f478a225f1a246e5d6767eeab1a7ffa17f025265b5b94f40f0c"),
    ("ge", "f", "US", "f", "252f10c83610ebca1a059c0bae8255eba2f95be4d1d7bcfa89d7248a82d9f111"),
    ("ge", "m", "US", "m", "62c66a7a5dd70c3146618063c344e531e6d4b59e379808443ce962b3abd63c5a"),
    ("ct", "Paris", "FR", "paris", None),
    ("ct", "London", "GB", "london", None),
    ("ct", "New York", "US", "newyork", "350c754ba4d38897693aa077ef43072a859d23f613443133fecbbd90a3512ca5"),
    ("st", "AZ", "US", "az", None),
    ("st", "CA", "US", "ca", "6959097001d10501ac7d54c0bdb8db61420f658f2922cc26e46d536119a31126"),
    ("zp", "94035", "US", "94035", "1794327a4d443904421f5ca1f3d72d0a62ba2f0770d80755ec2220fc0efb052e"),
    ("zp", "1987", "AU", "1987", None),
    ("zp", "75018", "FR", "75018", None),
    ("zp", "M1 1AE", "GB", "m11ae", None),
    ("country", "United States", "US", "us", "79adb2a2fce5c6ba215fe5f27f532d4e7edbac4b6a5e09e1ef3a08084a904621"),
    # Extra vectors decoding Meta's own doc payloads.
    ("ph", "12345678901", "US", "12345678901", "254aa248acb47dd654ca3ea53f48c2c26d641d23d7e2e93a1ec56258df7674c4"),
    ("ph", "14251234567", "US", "14251234567", "6f4fcb9deaeadc8f9746ae76d97ce1239e98b404efe5da3ee0b7149740f89ad6"),
    ("em", "jsmith@example.com", "US", "jsmith@example.com",
     "6e3913852f512d76acff15d1e402c7502a5bbe6101745a7120a2a4833ebd2350"),
    ("fn", "Test", "US", "test", "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08"),
    ("zp", "94035-1234", "US", "94035", "1794327a4d443904421f5ca1f3d72d0a62ba2f0770d80755ec2220fc0efb052e"),
    ("ct", "newyork", "US", "newyork", "350c754ba4d38897693aa077ef43072a859d23f613443133fecbbd90a3512ca5"),
]


@pytest.mark.parametrize(("key", "raw", "country", "normalized", "digest"), META_DOC_VECTORS)
def test_meta_doc_vector_normalizes_and_hashes_as_documented(key, raw, country, normalized, digest):
    assert normalize(key, raw, default_country=country) == normalized
    expected_digest = digest or sha256(normalized)
    assert hash_user_value(key, raw, default_country=country) == expected_digest


def test_nfd_input_hashes_like_the_nfc_doc_vector():
    decomposed = unicodedata.normalize("NFD", "Valéry")
    assert decomposed != "Valéry"
    assert hash_user_value("fn", decomposed) == "08e1996b5dd49e62a4b4c010d44e4345592a863bb9f8e3976219bac29417149c"


@pytest.mark.parametrize("ip", ["168.212.226.204", "2001:0db8:85a3:0000:0000:8a2e:0370:7334"])
def test_doc_ip_addresses_are_sent_as_they_are(ip):
    assert build_user_data({"clientIpAddress": ip}) == {"client_ip_address": ip}


def test_doc_click_ids_are_sent_as_they_are():
    fbc = "fb.1.1554763741205.AbCdEfGhIjKlMnOpQrStUvWxYz1234567890"
    fbp = "fb.1.1596403881668.1116446470"
    assert build_user_data({"fbc": fbc, "fbp": fbp}) == {"fbc": fbc, "fbp": fbp}


# --- cross-check against the facebook-business SDK --------------------------------------------


def sdk_plain(key: str, value: str) -> str:
    try:
        return Normalize.normalize_field_skip_hashing(key, value)
    except (TypeError, ValueError) as error:
        return f"raises {type(error).__name__}"


AGREES_WITH_SDK = [
    ("em", " John_Smith@gmail.com "),
    ("em", "JSmith@Example.com"),
    ("ph", "+1 (650) 555-1212"),
    ("ph", "001 650 555 1212"),
    ("ph", "+44 20 7946 0018"),
    ("ph", "16505551212"),
    ("fn", "Mary"),
    ("ln", "SMITH"),
    ("ct", "New York"),
    ("ct", "St. Louis"),
    ("st", "CA"),
    ("zp", "94035-1234"),
    ("zp", "M1 1AE"),
    ("country", "US"),
    ("country", "gb"),
    ("ge", "F"),
    ("db", "19970216"),
    ("external_id", "user-42"),
    ("em", "62A14E44F765419D10FEA99367361A727C12365E2520F32218D505ED9AA0F62F"),
]


@pytest.mark.parametrize(("key", "raw"), AGREES_WITH_SDK)
def test_agrees_with_the_sdk_where_meta_rules_and_sdk_coincide(key, raw):
    assert normalize(key, raw) == Normalize.normalize_field_skip_hashing(key, raw)
    assert hash_user_value(key, raw) == Normalize.normalize_field(key, raw)


def test_sdk_vector_for_a_uk_number_hashes_as_recorded():
    # §4.7 records the SDK's digest for this number; ours must be the same.
    digest = "99a4599795d24445a5be21117f375c1bbe9e795daf7f62666686ce081e1f32dc"
    assert hash_user_value("ph", "+44 20 7946 0018") == digest == Normalize.normalize_field("ph", "+44 20 7946 0018")


# (key, input, what the SDK gives (§4.1/§4.7), what Meta's docs want and we give)
KNOWN_SDK_DIVERGENCES = [
    ("ph", "(650)555-1212", "6505551212", "16505551212"),  # SDK adds no country code
    ("fn", "Mary-Jane", "mary-jane", "maryjane"),  # SDK keeps punctuation
    ("st", "California", "california", "ca"),  # SDK does not map state names
    ("country", "United States", "raises TypeError", "us"),  # SDK rejects names
    ("db", "2/16/1997", "2/16/1997", "19970216"),  # SDK hashes dates as they are
    ("zp", "940351234", "940351234", "94035"),  # SDK does not cut US zips to 5 digits (§4.1)
    ("ct", "L'Aquila", "l'aquila", "laquila"),  # SDK keeps apostrophes (§4.1)
    # SDK passes a 32-hex MD5 through as "already hashed"; Meta accepts only SHA-256 (§11).
    ("external_id", "d41d8cd98f00b204e9800998ecf8427e", "d41d8cd98f00b204e9800998ecf8427e",
     "d41d8cd98f00b204e9800998ecf8427e"),
]


@pytest.mark.parametrize(("key", "raw", "sdk_gives", "we_give"), KNOWN_SDK_DIVERGENCES)
def test_known_sdk_divergences_still_differ(key, raw, sdk_gives, we_give):
    assert sdk_plain(key, raw) == sdk_gives
    assert normalize(key, raw) == we_give
    # What is sent is the digest: it must differ, or the divergence is gone from this list.
    sdk_digest = sdk_gives if sdk_gives.startswith("raises") else Normalize.normalize_field(key, raw)
    assert hash_user_value(key, raw) != sdk_digest


def test_md5_is_hashed_again_not_passed_through():
    md5 = "d41d8cd98f00b204e9800998ecf8427e"
    assert hash_user_value("external_id", md5) == sha256(md5)
    assert normalize("em", md5) is None  # and it is no email address


# --- already hashed: kept, lowercased, never hashed twice -------------------------------------

DIGEST = "62A14E44F765419D10FEA99367361A727C12365E2520F32218D505ED9AA0F62F"


@pytest.mark.parametrize("key", USER_DATA_KEYS)
def test_sha256_input_is_kept_lowercased_for_every_key(key):
    assert normalize(key, f"  {DIGEST} ") == DIGEST.lower()
    assert hash_user_value(key, DIGEST) == DIGEST.lower()


def test_hashing_a_digest_again_gives_the_same_digest():
    once = hash_user_value("em", "John_Smith@gmail.com")
    assert hash_user_value("em", once) == once


# --- rule by rule -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("  Jane.Doe@Example.COM ", "jane.doe@example.com"),
        ("tést@gmail.com", "tést@gmail.com"),
        ("jane@", None),
        ("not an email", None),
        ("jane@example", None),
        ("jane doe@example.com", None),
        ("jane@@example.com", None),
        ("jane@example..com", None),
        ("jane@.example.com", None),
        ("jane@example.com.", None),
        ("   ", None),
        ("", None),
    ],
)
def test_email_trimmed_lowercased_invalid_rejected(raw, expected):
    assert normalize("em", raw) == expected


@pytest.mark.parametrize(
    ("raw", "country", "expected"),
    [
        ("650.555.1212", "US", "16505551212"),
        ("1 (650) 555-1212", "US", "16505551212"),
        ("+1-650-555-1212 ext 3", "US", "16505551212"),
        ("011 44 20 7946 0018", "US", "442079460018"),
        ("0044 20 7946 0018", "GB", "442079460018"),
        ("020 7946 0018", "GB", "442079460018"),
        ("06 12 34 56 78", "FR", "33612345678"),
        ("+33 6 12 34 56 78", "US", "33612345678"),
        ("+44 (0) 20 7946 0018", "US", "442079460018"),
        ("+39 06 1234 5678", "US", "390612345678"),  # Italy keeps its leading zero
        ("442079460018", "US", "442079460018"),  # international without +: not a US number
        ("16505551212", "GB", "16505551212"),
        ("555-1212", "US", None),  # no area code: matches nobody
        ("12345", "US", None),
        ("call me", "US", None),
    ],
)
def test_phone_digits_with_country_code(raw, country, expected):
    assert normalize("ph", raw, default_country=country) == expected


def test_fast_north_american_phone_path_equals_phonenumbers():
    rng = random.Random(7)
    layouts = ["({a}) {b}-{c}", "{a}-{b}-{c}", "+1 {a} {b} {c}", "1{a}{b}{c}", "{a}.{b}.{c}", "+1 ({a}) {b}-{c}"]
    for _ in range(300):
        area, exchange = rng.randint(200, 999), rng.randint(200, 999)
        line = f"{rng.randint(0, 9999):04d}"
        raw = rng.choice(layouts).format(a=area, b=exchange, c=line)
        fast = normalize("ph", raw)
        assert fast == "1" + f"{area}{exchange}{line}"
        parsed = phonenumbers.parse(raw, "US")
        assert phonenumbers.is_possible_number(parsed)
        assert fast == phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164)[1:]
        assert fast == normalize_module._phone_with_country_code(raw, "US")


@pytest.mark.parametrize(
    ("key", "raw", "expected"),
    [
        ("fn", "Mary-Jane", "maryjane"),
        ("fn", "Mary Jane", "maryjane"),
        ("ln", "O'Brien", "obrien"),
        ("ln", "  SMITH, Jr. ", "smithjr"),
        ("fn", "JOSÉ", "josé"),
        ("fn", "नमस्ते", "नमस्ते"),  # combining vowel signs are letters of the name, kept
        ("fn", "--", None),
    ],
)
def test_names_lowercase_without_punctuation(key, raw, expected):
    assert normalize(key, raw) == expected


@pytest.mark.parametrize(
    ("raw", "country", "expected"),
    [
        ("1997-02-16", "US", "19970216"),
        ("1997/2/16", "US", "19970216"),
        ("19970216", "US", "19970216"),
        ("02161997", "US", "19970216"),
        ("16.02.1997", "DE", "19970216"),
        ("16/2/1997", "US", "19970216"),  # day > 12: the order is not ambiguous
        ("Feb 16, 1997", "US", "19970216"),
        ("16th February 1997", "GB", "19970216"),
        ("1997-02-16T00:00:00Z", "US", "19970216"),
        ("03/04/1990", "US", "19900304"),  # US reads month first
        ("03/04/1990", "DE", "19900403"),  # elsewhere day first
        ("3/4/97", "US", "19970304"),
        ("2/30/1997", "US", None),
        ("1850-01-01", "US", None),  # Meta: year from 1900
        ("2999-01-01", "US", None),  # not born yet
        ("13/13/1990", "US", None),
        ("sometime", "US", None),
    ],
)
def test_date_of_birth_to_yyyymmdd(raw, country, expected):
    assert normalize("db", raw, default_country=country) == expected


@pytest.mark.parametrize(
    ("raw", "expected"), [("F", "f"), ("Female", "f"), ("woman", "f"), ("M", "m"), (" Male ", "m"), ("x", None)]
)
def test_gender_single_letter(raw, expected):
    assert normalize("ge", raw) == expected


@pytest.mark.parametrize(
    ("raw", "expected"), [("St. Louis", "stlouis"), ("Winston-Salem", "winstonsalem"), ("Zürich", "zürich"), ("42", None)]
)
def test_city_lowercase_no_spaces_or_punctuation(raw, expected):
    assert normalize("ct", raw) == expected


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("California", "ca"),
        ("new york", "ny"),
        ("NY", "ny"),
        ("US-TX", "tx"),
        ("District of Columbia", "dc"),
        ("Puerto Rico", "pr"),
        ("Ontario", "ontario"),  # outside the US: lowercase, no punctuation or spaces
        ("Île-de-France", "îledefrance"),
    ],
)
def test_state_names_to_codes(raw, expected):
    assert normalize("st", raw) == expected


@pytest.mark.parametrize(
    ("raw", "country", "expected"),
    [
        ("94035-1234", "US", "94035"),
        ("940351234", "US", "94035"),
        (" 94035 ", "US", "94035"),
        ("SW1A 1AA", "GB", "sw1a1aa"),
        ("94035-1234", "DE", "940351234"),  # not a US zip: nothing is cut
    ],
)
def test_zip_lowercase_no_spaces_us_five_digits(raw, country, expected):
    assert normalize("zp", raw, default_country=country) == expected


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("US", "us"),
        ("usa", "us"),
        ("U.S.", "us"),
        ("United States of America", "us"),
        ("Germany", "de"),
        ("DEU", "de"),
        ("United Kingdom", "gb"),
        ("UK", "gb"),
        ("Cote d'Ivoire", "ci"),
        ("Côte d'Ivoire", "ci"),
        ("South Korea", "kr"),
        ("Narnia", None),
        ("ZZ", None),
    ],
)
def test_country_names_and_codes_to_alpha_2(raw, expected):
    assert normalize("country", raw) == expected


def test_external_id_is_trimmed_not_recased():
    assert normalize("external_id", "  User-42 ") == "User-42"
    assert hash_user_value("external_id", "User-42") == sha256("User-42")


def test_user_data_keys_are_the_catalog_fields():
    assert set(USER_DATA_KEYS) == set(USER_FIELDS.values())


@pytest.mark.parametrize("key", ["client_ip_address", "fbc", "madid"])
def test_never_hashed_keys_are_refused(key):
    assert key in NEVER_HASHED
    with pytest.raises(ValueError, match="never"):
        hash_user_value(key, "x")


def test_unknown_key_is_refused():
    with pytest.raises(ValueError, match="unknown user_data key"):
        normalize("email", "jane@example.com")


# --- build_user_data ---------------------------------------------------------------------------


def test_build_user_data_from_catalog_samples():
    raw = dict(USER_SAMPLES, clientIpAddress="203.0.113.7", clientUserAgent="Mozilla/5.0", fbp="fb.1.1596403881668.1116446470")
    user_data = build_user_data(raw)
    assert user_data == {
        "em": sha256("jane.doe@example.com"),
        "ph": sha256("16505551212"),
        "fn": sha256("jane"),
        "ln": sha256("doe"),
        "db": sha256("19900526"),
        "ge": sha256("f"),
        "ct": sha256("menlopark"),
        "st": sha256("ca"),
        "zp": sha256("94025"),
        "country": sha256("us"),
        "external_id": sha256("user-42"),
        "client_ip_address": "203.0.113.7",
        "client_user_agent": "Mozilla/5.0",
        "fbp": "fb.1.1596403881668.1116446470",
    }


def test_build_user_data_drops_empty_and_invalid_values():
    user_data = build_user_data({"email": "jane@", "phone": "", "firstName": None, "lastName": "Doe", "fbc": " "})
    assert user_data == {"ln": sha256("doe")}


def test_build_user_data_keeps_hashed_values_and_accepts_meta_keys():
    assert build_user_data({"em": DIGEST}) == {"em": DIGEST.lower()}


def test_build_user_data_uses_the_records_country_for_its_phone_and_zip():
    user_data = build_user_data({"phone": "06 12 34 56 78", "zip": "75018", "country": "France"})
    assert user_data["ph"] == sha256("33612345678")
    assert user_data["country"] == sha256("fr")
    assert build_user_data({"phone": "(650) 555-1212"}, default_country="us")["ph"] == sha256("16505551212")


def test_build_user_data_list_values_hashed_each_deduplicated():
    user_data = build_user_data({"email": ["Jane@Example.com", "jane@example.com ", "bob@example.com", "nope"]})
    assert user_data == {"em": [sha256("jane@example.com"), sha256("bob@example.com")]}


def test_build_user_data_refuses_unknown_fields():
    with pytest.raises(ValueError, match="unknown customer information field 'mail'"):
        build_user_data({"mail": "jane@example.com"})


def test_unusable_user_fields_names_the_dropped_fields():
    raw = {"email": "jane@", "phone": "12345", "firstName": "Jane", "lastName": ""}
    assert unusable_user_fields(raw) == ["email", "phone"]
    assert unusable_user_fields(USER_SAMPLES) == []


def test_the_international_fast_path_reads_numbers_as_phonenumbers_does():
    """For every region's example numbers, written the usual international ways, the fast path
    either gives phonenumbers' answer or steps aside; it answers for most of them."""
    import phonenumbers

    from quickstart.meta import normalize as module

    answered = total = 0
    for region in sorted(phonenumbers.SUPPORTED_REGIONS):
        for kind in (phonenumbers.PhoneNumberType.MOBILE, phonenumbers.PhoneNumberType.FIXED_LINE):
            example = phonenumbers.example_number_for_type(region, kind)
            if example is None:
                continue
            for style in (phonenumbers.PhoneNumberFormat.INTERNATIONAL, phonenumbers.PhoneNumberFormat.E164):
                text = phonenumbers.format_number(example, style)
                fast = module._international_fast(text)
                national = module._parse_phone(text, region)
                expected = (phonenumbers.format_number(national, phonenumbers.PhoneNumberFormat.E164).lstrip("+")
                            if national is not None and module._is_complete_number(national) else None)
                total += 1
                if fast is not None:
                    answered += 1
                    assert fast == expected, (region, text, fast, expected)
    assert total > 800 and answered / total > 0.9, (answered, total)
