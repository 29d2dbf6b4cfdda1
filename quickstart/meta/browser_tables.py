"""The lookup tables the browser runtime needs to normalise customer information as
``quickstart/meta/normalize.py`` does, taken from the same sources (phonenumbers' metadata,
pycountry, the normaliser's own tables).

They are generated once into ``browser_tables.json`` (shipped in the wheel) so that `init` does
not load every phone region's metadata; ``tests/test_runtime_normalize.py`` fails when the file
no longer matches what the installed libraries say. Regenerate with
``python -m quickstart.meta.browser_tables``.
"""

from __future__ import annotations

import json
from functools import lru_cache
from pathlib import Path
from typing import Any

TABLES_FILE = Path(__file__).with_name("browser_tables.json")


def compute_tables() -> dict[str, Any]:
    """Every table, from the libraries and the normaliser (slow: loads all phone metadata)."""
    import phonenumbers
    import pycountry
    from phonenumbers import PhoneMetadata

    from quickstart.meta import normalize

    regions: dict[str, list[Any]] = {}
    for region in sorted(phonenumbers.SUPPORTED_REGIONS):
        meta = PhoneMetadata.metadata_for_region(region)
        prefix, transformed = _prefix_rule(meta)
        idd = meta.international_prefix or ""
        idd = idd if idd.isdigit() else ""  # a pattern (several prefixes) is left to the "+" form
        regions[region] = [meta.country_code, prefix, list(meta.general_desc.possible_length), transformed, idd]
    codes: dict[str, list[int]] = {}
    for code in sorted(phonenumbers.COUNTRY_CODE_TO_REGION_CODE):
        main = phonenumbers.region_code_for_country_code(code)
        meta = PhoneMetadata.metadata_for_region(main) or PhoneMetadata.metadata_for_nongeo_region(code)
        if meta is None:
            continue
        prefix, transformed = _prefix_rule(meta)
        codes[str(code)] = [list(meta.general_desc.possible_length), prefix, transformed]

    names = normalize._country_names()  # noqa: SLF001 - the same map the Python side reads
    return {
        "phoneRegions": regions,
        "phoneCodes": codes,
        "nanpRegions": sorted(normalize._NANP_REGIONS),  # noqa: SLF001
        "usStates": normalize._us_states(),  # noqa: SLF001
        "alpha2": sorted(c.alpha_2.lower() for c in pycountry.countries),
        "alpha3": {c.alpha_3.lower(): c.alpha_2.lower() for c in pycountry.countries},
        "countryAliases": dict(normalize._COUNTRY_ALIASES),  # noqa: SLF001
        "countryNames": dict(sorted(names.items())),
        "genders": dict(normalize._GENDERS),  # noqa: SLF001
        "months": dict(normalize._MONTHS),  # noqa: SLF001
        "monthFirstRegions": sorted(normalize._MONTH_FIRST_REGIONS),  # noqa: SLF001
        "ordinalSuffixes": sorted(normalize._ORDINAL_SUFFIXES),  # noqa: SLF001
    }


def _prefix_rule(meta) -> tuple[str, int]:
    """phonenumbers' national prefix pattern (a regular expression JavaScript reads the same
    way, matched at the start), and 1 when a match is also transformed (carrier codes: AR, BR,
    ...), which the browser does not attempt: it leaves such numbers out."""
    pattern = meta.national_prefix_for_parsing or meta.national_prefix or ""
    return pattern, int(bool(meta.national_prefix_transform_rule))


@lru_cache(maxsize=1)
def browser_tables() -> dict[str, Any]:
    """The shipped tables (fast)."""
    return json.loads(TABLES_FILE.read_text(encoding="utf-8"))


def main() -> None:
    TABLES_FILE.write_text(json.dumps(compute_tables(), separators=(",", ":"), sort_keys=True) + "\n", encoding="utf-8")
    print(f"wrote {TABLES_FILE}")


if __name__ == "__main__":
    main()
