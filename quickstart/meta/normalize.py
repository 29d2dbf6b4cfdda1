"""Customer information for the Conversions API: normalise to Meta's rules, then SHA-256.

Meta's rules are the ones on the Customer Information Parameters page (reference/meta-capi.md
§3.1), not the looser ones of the official Python SDK (§4.1, §4.7): names lose their
punctuation, dates become YYYYMMDD, state and country names become codes, phone numbers always
carry a country code, US zips keep 5 digits. A value that already is a SHA-256 hex digest is
kept (lowercased) and never hashed twice; a 32-hex MD5 is not a hash Meta accepts (§11), so it
is treated as plain text.

Every function here is pure and returns ``None`` for a value it cannot normalise: sending
nothing is better than sending the hash of garbage, which can never match anyone.

Over 400 lines on purpose: one normaliser per customer-information key, each with its own
country and format rules, read side by side with the browser's twin (snippets/runtime.js.j2).
"""

from __future__ import annotations

import datetime
import functools
import hashlib
import re
import unicodedata
from collections.abc import Iterable, Mapping
from typing import Any

import phonenumbers
import pycountry

from quickstart.catalog import USER_FIELDS

# The user_data keys Meta wants normalised and SHA-256 hashed (§3.1), in the order we emit them.
USER_DATA_KEYS: tuple[str, ...] = tuple(USER_FIELDS.values())  # em, ph, fn, ln, db, ge, ct, st, zp, country, external_id

# user_data keys that must be sent as they are, never hashed (§3.1).
NEVER_HASHED: tuple[str, ...] = (
    "client_ip_address",
    "client_user_agent",
    "fbc",
    "fbp",
    "subscription_id",
    "fb_login_id",
    "lead_id",
    "anon_id",
    "madid",
    "page_id",
    "page_scoped_user_id",
    "ctwa_clid",
    "ig_account_id",
    "ig_sid",
)

# The CAPI extension's names for the never-hashed values a forwarding rule sends.
PASS_THROUGH_FIELDS: dict[str, str] = {
    "clientIpAddress": "client_ip_address",
    "clientUserAgent": "client_user_agent",
    "fbc": "fbc",
    "fbp": "fbp",
}

_SHA256_HEX = re.compile(r"[0-9a-fA-F]{64}")
_EMAIL = re.compile(r"[^@\s]+@[^@\s]+\.[^@\s]+")
_NOT_ASCII_ALNUM = re.compile(r"[^a-z0-9]+")
_NOT_ASCII_ALPHA = re.compile(r"[^a-z]+")
_NON_DIGIT = re.compile(r"\D+")
_US_PREFIXED_STATE = re.compile(r"us[-_ ]?([a-z]{2})")
# A North American number written any usual way; the result equals what phonenumbers gives
# for a possible NANP number, only without its parse of some 40 µs (tests hold the two equal).
_NANP_NUMBER = re.compile(
    r"\s*(?:\+\s*1|1)?[\s.\-]*\(?\s*([2-9]\d{2})\s*\)?[\s.\-]*([2-9]\d{2})[\s.\-]*(\d{4})\s*"
)
_NANP_REGIONS = frozenset({"US", "CA", "PR", "GU", "VI", "AS", "MP", "UM"})
_DATE_TOKENS = re.compile(r"\d+|[^\W\d_]+")
_ISO_DATE = re.compile(r"(\d{4})-(\d{2})-(\d{2})")
_ISO_DATETIME = re.compile(r"(\d{4}-\d{1,2}-\d{1,2})[t ]")

_YEAR_AT_IMPORT = datetime.date.today().year
_MONTHS: dict[str, int] = {}
for _number, _name in enumerate(
    ("january", "february", "march", "april", "may", "june", "july", "august", "september",
     "october", "november", "december"),
    start=1,
):
    _MONTHS[_name] = _number
    _MONTHS[_name[:3]] = _number
_MONTHS["sept"] = 9
_ORDINAL_SUFFIXES = frozenset({"st", "nd", "rd", "th"})
# Where an ambiguous 03/04/1990 means March 4th; everywhere else it means 3 April.
_MONTH_FIRST_REGIONS = frozenset({"US", "PR", "GU", "VI", "AS", "MP", "UM", "PH", "FM", "MH", "PW"})

_GENDERS: dict[str, str] = {
    "f": "f", "female": "f", "woman": "f", "girl": "f",
    "m": "m", "male": "m", "man": "m", "boy": "m",
}

# Everyday country names pycountry does not know (keys: lowercase letters only).
_COUNTRY_ALIASES: dict[str, str] = {
    "uk": "gb", "greatbritain": "gb", "england": "gb", "scotland": "gb", "wales": "gb",
    "northernireland": "gb", "britain": "gb",
    "usa": "us", "america": "us", "unitedstatesofamerica": "us",
    "russia": "ru", "turkey": "tr", "ivorycoast": "ci", "holland": "nl", "deutschland": "de",
    "brunei": "bn", "capeverde": "cv", "swaziland": "sz", "burma": "mm", "macedonia": "mk",
    "palestine": "ps", "vatican": "va", "vaticancity": "va", "southkorea": "kr",
    "northkorea": "kp",
}


def normalize(key: str, value: str, *, default_country: str = "US") -> str | None:
    """Normalise one customer-information value of user_data key `key` to Meta's rules.

    `default_country` (ISO alpha-2) gives national phone numbers their country code, decides
    whether a zip is a US zip, and how an ambiguous date like 03/04/1990 is read.
    Returns ``None`` when the value is empty or cannot be made valid.
    A SHA-256 hex digest is returned lowercased, as it is.

    >>> normalize("ph", "(650)555-1212")
    '16505551212'
    """
    normalized, _ = _normalize(key, value, default_country.upper())
    return normalized


def hash_user_value(key: str, value: str, *, default_country: str = "US") -> str | None:
    """The SHA-256 hex digest Meta expects for `value` under `key`; never hashes twice."""
    normalized, already_hashed = _normalize(key, value, default_country.upper())
    if normalized is None:
        return None
    if already_hashed:
        return normalized
    return sha256_hex(normalized)


def sha256_hex(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def is_sha256_hex(value: object) -> bool:
    """True for a 64-hex SHA-256 digest, in any letter case."""
    return isinstance(value, str) and _SHA256_HEX.fullmatch(value) is not None


def build_user_data(raw: Mapping[str, Any], *, default_country: str = "US") -> dict[str, Any]:
    """Meta's `user_data` from a record keyed like the CAPI extension's fields.

    `raw` uses the extension's names (email, phone, firstName, ... externalId; see
    catalog.USER_FIELDS) plus clientIpAddress, clientUserAgent, fbc and fbp; Meta's own key
    names are accepted too. Customer information is normalised and hashed, the rest is kept
    as it is, and empty or unusable values are dropped. A value may be a list of values.

    The record's own country, when it has one, replaces `default_country` for its phone, zip,
    state and date: a French customer's national phone number gets +33, not +1.
    """
    by_key = _by_user_data_key(raw)
    region = _record_region(by_key.get("country"), default_country.upper())
    user_data: dict[str, Any] = {}
    caches, get = _CACHES, by_key.get
    for key in USER_DATA_KEYS:
        value = get(key)
        if value is None:
            continue
        if value.__class__ is list or value.__class__ is tuple:
            hashed = [digest for item in value if (digest := _hash_item(key, item, region)) is not None]
            unique = list(dict.fromkeys(hashed))
            if unique:
                user_data[key] = unique[0] if len(unique) == 1 else unique
            continue
        cache = caches.get(key)
        digest = cache(value, region) if cache is not None and value.__class__ is str else _hash_item(key, value, region)
        if digest is not None:
            user_data[key] = digest
    if _NEVER_HASHED_SET.isdisjoint(by_key):
        return user_data
    for key in NEVER_HASHED:
        if key not in by_key:
            continue
        value = by_key[key]
        if isinstance(value, str):
            value = value.strip()
        if value not in (None, "", []):
            user_data[key] = value
    return user_data


def browser_user_data(raw: Mapping[str, Any], *, default_country: str | None) -> dict[str, str]:
    """The hashed customer information the browser runtime (snippets/runtime.js.j2) sends: one
    digest per key, the first value of a list that normalises (the CAPI extension throws on a
    list), keyed by Meta's names. Without a default country, a national phone number (no "+")
    is left out: the browser cannot know its country code.

    The same rules as ``build_user_data``; tests hold the JavaScript to this function."""
    by_key = _by_user_data_key({field: value for field, value in raw.items() if field in _FIELD_TO_KEY
                                or field in USER_DATA_KEYS})
    region = _record_region(by_key.get("country"), (default_country or "").upper())
    user_data: dict[str, str] = {}
    for key in USER_DATA_KEYS:
        for item in _as_list(by_key.get(key)):
            digest = _hash_item(key, item, region) if isinstance(item, (str, int)) and not isinstance(item, bool) else None
            if digest is not None:
                user_data[key] = digest
                break
    return user_data


def unusable_user_fields(raw: Mapping[str, Any], *, default_country: str = "US") -> list[str]:
    """The fields of `raw` that hold a value `build_user_data` had to drop as invalid.

    For warnings like "email 'jane@' is not an email address and was not sent".
    """
    by_key = _by_user_data_key(raw)
    region = _record_region(by_key.get("country"), default_country.upper())
    names = {key: field for field, key in _FIELD_TO_KEY.items() if field in raw}
    unusable: list[str] = []
    for key in USER_DATA_KEYS:
        items = [item for item in _as_list(by_key.get(key)) if item is not None and str(item).strip()]
        if any(_hash_item(key, item, region) is None for item in items):
            unusable.append(names.get(key, key))
    return unusable


# --- one field at a time ------------------------------------------------------------------


def _normalize(key: str, value: Any, region: str) -> tuple[str | None, bool]:
    """(normalised value or None, whether it already was a SHA-256 digest)."""
    normalizer = _NORMALIZERS.get(key)
    if normalizer is None:
        if key in NEVER_HASHED:
            raise ValueError(f"user_data key {key!r} is sent as it is and never normalised or hashed")
        raise ValueError(f"unknown user_data key {key!r}; expected one of {', '.join(USER_DATA_KEYS)}")
    if value is None:
        return None, False
    if not isinstance(value, str):
        value = str(value)
    text = value.strip()
    if not text:
        return None, False
    if len(text) == 64 and _SHA256_HEX.fullmatch(text):
        return text.lower(), True
    return normalizer(text, region), False


def _normalize_email(text: str, region: str) -> str | None:
    email = (text if text.isascii() else unicodedata.normalize("NFC", text)).lower()
    if not _EMAIL.fullmatch(email):
        return None
    domain = email.rsplit("@", 1)[1]
    if domain.startswith(".") or domain.endswith(".") or ".." in domain:
        return None
    return email


def _normalize_phone(text: str, region: str) -> str | None:
    if region in _NANP_REGIONS or text.startswith("+1"):
        match = _NANP_NUMBER.fullmatch(text)
        if match:
            return "1" + "".join(match.groups())
    return _phone_with_country_code(text, region)


# "+" and digits written the usual ways: the shape the fast path reads without phonenumbers.
_INTERNATIONAL_SHAPE = re.compile(r"\(?\+[\d\s().\-/]+")


@functools.lru_cache(maxsize=1)
def _phone_tables() -> tuple[dict[str, Any], dict[str, Any]]:
    """phonenumbers' possible lengths and national prefix rules per calling code (the browser's
    tables, generated from the same metadata; tests hold them equal)."""
    from quickstart.meta.browser_tables import browser_tables

    codes = browser_tables()["phoneCodes"]
    patterns = {code: re.compile(f"(?:{entry[1]})") for code, entry in codes.items() if entry[1]}
    return codes, patterns


def _international_fast(text: str) -> str | None:
    """An international number phonenumbers would read the same way, without its parse (~20 µs):
    a known calling code, no national prefix after it, a possible length. None when unsure."""
    if not _INTERNATIONAL_SHAPE.fullmatch(text):
        return None
    digits = _NON_DIGIT.sub("", text)
    codes, patterns = _phone_tables()
    for size in (1, 2, 3):
        entry = codes.get(digits[:size])
        if entry is None:
            continue
        national = digits[size:]
        pattern = patterns.get(digits[:size])
        if pattern is not None and pattern.match(national) and pattern.match(national).end():
            return None  # a national prefix to strip: phonenumbers decides by its patterns
        return digits if len(national) in entry[0] else None
    return None


def _phone_with_country_code(text: str, region: str) -> str | None:
    if not region and not text.lstrip("( ").startswith("+"):
        return None  # a national number and no country to read it in: any country code is a guess
    fast = _international_fast(text)
    if fast is not None:
        return fast
    """Digits with the country code, the way Meta wants them (no +, no leading zeros).

    A number with + (or the region's international prefix, or 00) keeps its own country
    code; a national number gets the region's. Digits that make no sense as a national number
    but do as an international one written without + (442079460018) are read that way.
    """
    national = _parse_phone(text, region)
    # "Possible" (the right length for its country), not "valid" (in an assigned range): the
    # ranges change faster than the installed metadata, and the check is slower than the parse.
    if national is not None and _is_complete_number(national):
        chosen = national
    else:
        # Parsed lazily: most numbers are settled by the first parse, which costs ~40 µs.
        international = _parse_phone("+" + _NON_DIGIT.sub("", text).lstrip("0"), None)
        if international is None or not _is_complete_number(international):
            return None
        chosen = international
    return phonenumbers.format_number(chosen, phonenumbers.PhoneNumberFormat.E164).lstrip("+")


def _parse_phone(text: str, region: str | None) -> phonenumbers.PhoneNumber | None:
    try:
        return phonenumbers.parse(text, region)
    except phonenumbers.NumberParseException:
        return None


def _is_complete_number(number: phonenumbers.PhoneNumber) -> bool:
    # "Possible" but not "local only": 555-1212 without its area code matches nobody.
    reason = phonenumbers.is_possible_number_with_reason(number)
    return reason == phonenumbers.ValidationResult.IS_POSSIBLE


def _normalize_name(text: str, region: str) -> str | None:
    # Meta: lowercase, no punctuation, other scripts as UTF-8 (NFC, or the hash differs).
    # Whitespace goes too, as in Meta's own parameter builder ("Mary Jane" -> "maryjane").
    lowered = text.lower()
    if lowered.isascii():
        name = _NOT_ASCII_ALNUM.sub("", lowered)
    else:
        name = _keep_categories(lowered, "LMN")
    return name or None


def _normalize_city(text: str, region: str) -> str | None:
    # Meta: lowercase, no punctuation, no special characters, no spaces; letters of any script.
    return _letters_only(text) or None


def _normalize_state(text: str, region: str) -> str | None:
    letters = _letters_only(text)
    if not letters:
        return None
    return _us_state_code(letters) or letters


def _normalize_zip(text: str, region: str) -> str | None:
    lowered = text.lower()
    if lowered.isascii():
        compact = _NOT_ASCII_ALNUM.sub("", lowered)
    else:
        compact = _keep_categories(lowered, "LMN")
    if region == "US" and compact.isdigit() and len(compact) >= 5:
        # ZIP+4 (94035-1234 or 940351234): Meta wants the first 5 digits only.
        return compact[:5]
    return compact or None


def _normalize_country(text: str, region: str) -> str | None:
    return _country_code(text.lower())


def _normalize_gender(text: str, region: str) -> str | None:
    return _GENDERS.get(_letters_only(text))


def _normalize_external_id(text: str, region: str) -> str | None:
    # An advertiser id must hash the same on every channel (§3.1), so it is only trimmed:
    # changing its case could split one customer into two.
    return unicodedata.normalize("NFC", text)


def _normalize_date_of_birth(text: str, region: str) -> str | None:
    iso_date = _ISO_DATE.fullmatch(text)
    if iso_date:  # the common 1990-05-26 needs no guessing
        parts = (int(iso_date.group(1)), int(iso_date.group(2)), int(iso_date.group(3)))
        return f"{parts[0]:04d}{parts[1]:02d}{parts[2]:02d}" if _valid_date(*parts) else None
    lowered = text.lower()
    iso = _ISO_DATETIME.match(lowered)
    if iso:
        lowered = iso.group(1)
    tokens = [t for t in _DATE_TOKENS.findall(lowered) if t not in _ORDINAL_SUFFIXES]
    month_first = region in _MONTH_FIRST_REGIONS
    parts: tuple[int, int, int] | None = None  # (year, month, day)
    if len(tokens) == 1 and tokens[0].isdigit() and len(tokens[0]) == 8:
        digits = tokens[0]
        as_ymd = (int(digits[:4]), int(digits[4:6]), int(digits[6:]))
        first, second, year = int(digits[:2]), int(digits[2:4]), int(digits[4:])
        as_other = (year, first, second) if month_first else (year, second, first)
        parts = as_ymd if _valid_date(*as_ymd) else as_other
    elif len(tokens) == 3:
        parts = _date_from_tokens(tokens, month_first)
    if parts is None or not _valid_date(*parts):
        return None
    year, month, day = parts
    return f"{year:04d}{month:02d}{day:02d}"


def _date_from_tokens(tokens: list[str], month_first: bool) -> tuple[int, int, int] | None:
    words = [t for t in tokens if not t.isdigit()]
    numbers = [t for t in tokens if t.isdigit()]
    if len(words) == 1:  # "Feb 16, 1997", "16 February 1997"
        month = _MONTHS.get(words[0])
        if month is None or len(numbers) != 2:
            return None
        year_index = 1 if len(numbers[1]) == 4 or len(numbers[0]) != 4 else 0
        year_token, day_token = numbers[year_index], numbers[1 - year_index]
        return _full_year(year_token), month, int(day_token)
    if words:
        return None
    if len(tokens[0]) == 4:  # 1997-02-16, 1997/2/16
        return int(tokens[0]), int(tokens[1]), int(tokens[2])
    first, second, year = int(tokens[0]), int(tokens[1]), _full_year(tokens[2])
    if first > 12:
        return year, second, first
    if second > 12:
        return year, first, second
    return (year, first, second) if month_first else (year, second, first)


def _full_year(token: str) -> int:
    year = int(token)
    if len(token) == 2:  # a birth year: never in the future
        this_year = datetime.date.today().year
        year += 2000 if year <= this_year % 100 else 1900
    return year


def _valid_date(year: int, month: int, day: int) -> bool:
    if 1900 <= year < _YEAR_AT_IMPORT and 1 <= month <= 12 and 1 <= day <= 28:
        return True  # every month has a 28th, and the year is past: no calendar needed
    try:
        date = datetime.date(year, month, day)
    except ValueError:
        return False
    if year < 1900:
        return False
    # Any year before this process started is in the past; only later ones need today().
    return year < _YEAR_AT_IMPORT or date <= datetime.date.today()


_NORMALIZERS = {
    "em": _normalize_email,
    "ph": _normalize_phone,
    "fn": _normalize_name,
    "ln": _normalize_name,
    "db": _normalize_date_of_birth,
    "ge": _normalize_gender,
    "ct": _normalize_city,
    "st": _normalize_state,
    "zp": _normalize_zip,
    "country": _normalize_country,
    "external_id": _normalize_external_id,
}


# --- helpers ------------------------------------------------------------------------------


def _letters_only(text: str) -> str:
    lowered = text.lower()
    if lowered.isascii():
        return _NOT_ASCII_ALPHA.sub("", lowered)
    return _keep_categories(lowered, "LM")


def _ascii_letters(text: str) -> str:
    """Lowercase ASCII letters of `text`, accents dropped: "Côte d'Ivoire" -> "cotedivoire"."""
    decomposed = unicodedata.normalize("NFKD", text.lower())
    return _NOT_ASCII_ALPHA.sub("", decomposed.encode("ascii", "ignore").decode("ascii"))


def _keep_categories(text: str, categories: str) -> str:
    """The characters whose Unicode category starts with one of `categories`, in NFC.

    NFC comes last: removing a character can bring a letter and its accent together.
    """
    kept = "".join(ch for ch in text if unicodedata.category(ch)[0] in categories)
    return unicodedata.normalize("NFC", kept)


@functools.lru_cache(maxsize=1)
def _us_states() -> dict[str, str]:
    """Lowercase letters of a US state's code or name -> its 2-letter code, lowercase."""
    states: dict[str, str] = {}
    for subdivision in pycountry.subdivisions.get(country_code="US"):
        code = subdivision.code.split("-", 1)[1].lower()
        states[code] = code
        states[_NOT_ASCII_ALPHA.sub("", subdivision.name.lower())] = code
    states["virginislands"] = "vi"  # pycountry says "Virgin Islands, U.S."
    return states


@functools.lru_cache(maxsize=4096)
def _us_state_code(letters: str) -> str | None:
    states = _us_states()
    if letters in states:
        return states[letters]
    prefixed = _US_PREFIXED_STATE.fullmatch(letters)
    return states.get(prefixed.group(1)) if prefixed else None


@functools.lru_cache(maxsize=1)
def _country_names() -> dict[str, str]:
    """Lowercase letters of every country name pycountry knows -> alpha-2, lowercase."""
    names: dict[str, str] = {}
    for country in pycountry.countries:
        code = country.alpha_2.lower()
        for attribute in ("name", "official_name", "common_name"):
            name = getattr(country, attribute, None)
            if name:
                names[_letters_only(name)] = code
                names[_ascii_letters(name)] = code
    names.update(_COUNTRY_ALIASES)
    return names


@functools.lru_cache(maxsize=4096)
def _country_code(lowered: str) -> str | None:
    stripped = lowered.strip()
    letters = _letters_only(stripped)
    if len(letters) == 2 and len(stripped) <= 4:  # "us", "U.S."
        country = pycountry.countries.get(alpha_2=letters.upper())
        return letters if country else _COUNTRY_ALIASES.get(letters)
    if len(letters) == 3 and len(stripped) <= 6:  # "usa", "DEU"
        country = pycountry.countries.get(alpha_3=letters.upper())
        if country:
            return country.alpha_2.lower()
    names = _country_names()
    return names.get(letters) or names.get(_ascii_letters(stripped))


def _record_region(country_value: Any, default_region: str) -> str:
    if country_value.__class__ is str:
        return _region_of(country_value) or default_region
    for item in _as_list(country_value):
        code, already_hashed = _normalize("country", item, default_region)
        if code and not already_hashed:
            return code.upper()
    return default_region


@functools.lru_cache(maxsize=4096)
def _region_of(country: str) -> str | None:
    """The region a record's own country names (ISO alpha-2, uppercase), or None."""
    code, already_hashed = _normalize("country", country, "")
    return code.upper() if code and not already_hashed else None


_FIELD_TO_KEY: dict[str, str] = {**USER_FIELDS, **PASS_THROUGH_FIELDS}
_OWN_KEYS = frozenset(USER_DATA_KEYS) | frozenset(NEVER_HASHED)  # Meta's own names are accepted too


def _by_user_data_key(raw: Mapping[str, Any]) -> dict[str, Any]:
    by_key: dict[str, Any] = {}
    for field, value in raw.items():
        key = _FIELD_TO_KEY.get(field) or (field if field in _OWN_KEYS else None)
        if key is None:
            accepted = ", ".join(_FIELD_TO_KEY)
            raise ValueError(f"unknown customer information field {field!r}; expected one of {accepted}")
        by_key[key] = value
    return by_key


def _as_list(value: Any) -> Iterable[Any]:
    if value is None:
        return ()
    if isinstance(value, (list, tuple)):
        return value
    return (value,)


def _hash_item(key: str, item: Any, region: str) -> str | None:
    normalized, already_hashed = _normalize(key, item, region)
    if normalized is None:
        return None
    return normalized if already_hashed else hashlib.sha256(normalized.encode("utf-8")).hexdigest()


# Keys whose values repeat across customers (names, places, gender): their digests are cached,
# one cache per key, so a stream of distinct zips cannot flush the names' cache. Emails, phones,
# ids and birth dates are mostly unique, so caching them would only cost memory.
_REPEATED_KEYS = frozenset({"fn", "ln", "ge", "ct", "st", "zp", "country"})
_CACHES = {key: functools.lru_cache(maxsize=4096)(functools.partial(_hash_item, key)) for key in _REPEATED_KEYS}


_NEVER_HASHED_SET = frozenset(NEVER_HASHED)
