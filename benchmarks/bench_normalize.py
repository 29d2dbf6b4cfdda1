"""Customer-information throughput: our `build_user_data` against the facebook-business SDK.

Both sides get the same synthetic records, written the way the SDK accepts them (country and
state as codes, phones with a country code), so every record is normalised and hashed by both
without errors. Ours applies Meta's stricter rules on top (dates parsed, phones checked with
phonenumbers, names stripped of punctuation), so a ratio below 1 is the price of those rules.

    python benchmarks/bench_normalize.py            # 100,000 records
    python benchmarks/bench_normalize.py -n 20000

`compare()` is also used by benchmarks/bench_validate.py.
"""

from __future__ import annotations

import argparse
import random
import time
from typing import Any

from quickstart.catalog import USER_FIELDS
from quickstart.meta.normalize import PASS_THROUGH_FIELDS, build_user_data

# Extension field -> the user_data key, which is also the SDK's field name for Normalize.normalize_field.
_SDK_KEYS = USER_FIELDS

_CHUNK = 1000

_FIRST = ["Jane", "John", "Mary-Jane", "José", "Ana", "O'Neil", "Wei", "Fatima", "Lukas", "Chloé"]
_LAST = ["Doe", "Smith", "García", "Müller", "Nguyen", "O'Brien", "Kowalski", "Rossi", "Khan", "Lee"]
_CITIES = [("Menlo Park", "CA", "94025"), ("New York", "NY", "10001-1234"), ("St. Louis", "MO", "63101"),
           ("Austin", "TX", "78701"), ("Seattle", "WA", "98101")]
_DOMAINS = ["example.com", "Example.org", "mail.example.net"]


def synthetic_records(n: int, seed: int = 20240601) -> list[dict[str, str]]:
    """`n` varied customer records keyed like the CAPI extension's fields."""
    rng = random.Random(seed)
    records: list[dict[str, str]] = []
    for i in range(n):
        first, last = rng.choice(_FIRST), rng.choice(_LAST)
        city, state, zip_code = rng.choice(_CITIES)
        if rng.random() < 0.8:
            phone = f"+1 ({rng.randint(201, 989)}) {rng.randint(200, 999)}-{rng.randint(0, 9999):04d}"
        else:
            phone = f"+44 20 7946 {rng.randint(0, 9999):04d}"
        records.append({
            "email": f" {first}.{last}{i}@{rng.choice(_DOMAINS)} ".replace("'", ""),
            "phone": phone,
            "firstName": first,
            "lastName": last,
            "dob": f"{rng.randint(1950, 2005)}-{rng.randint(1, 12):02d}-{rng.randint(1, 28):02d}",
            "gender": rng.choice("fm"),
            "city": city,
            "state": state,
            "zip": zip_code,
            "country": "US",
            "externalId": f"user-{i}",
            "clientIpAddress": f"203.0.113.{i % 256}",
            "clientUserAgent": "Mozilla/5.0 (X11; Linux x86_64)",
            "fbp": f"fb.1.1596403881668.{rng.randint(0, 2**31 - 1)}",
        })
    return records


def _sdk_user_data(record: dict[str, str], normalize_field: Any) -> dict[str, str]:
    user_data = {}
    for field, value in record.items():
        if field in _SDK_KEYS:
            user_data[_SDK_KEYS[field]] = normalize_field(_SDK_KEYS[field], value)
        else:
            user_data[PASS_THROUGH_FIELDS[field]] = value
    return user_data


def compare(n: int = 100_000) -> dict[str, float]:
    """Records per second for ours and the SDK's normalise+hash on the same `n` records."""
    from facebook_business.adobjects.serverside.normalize import Normalize

    records = synthetic_records(n)
    build_user_data(records[0])  # load pycountry's tables outside the timing
    normalize_field = Normalize.normalize_field

    # Alternate the two over small chunks so both see the same machine load.
    ours_s = sdk_s = 0.0
    for start in range(0, n, _CHUNK):
        chunk = records[start : start + _CHUNK]
        started = time.perf_counter()
        for record in chunk:
            build_user_data(record)
        ours_s += time.perf_counter() - started
        started = time.perf_counter()
        for record in chunk:
            _sdk_user_data(record, normalize_field)
        sdk_s += time.perf_counter() - started

    ours_per_s, sdk_per_s = n / ours_s, n / sdk_s
    return {"n": n, "ours_per_s": ours_per_s, "sdk_per_s": sdk_per_s, "ratio": ours_per_s / sdk_per_s}


def format_comparison(result: dict[str, float]) -> str:
    return "\n".join([
        f"normalize + SHA-256, {int(result['n']):,} records",
        f"  {'quickstart (Meta doc rules)':<30} {result['ours_per_s']:>12,.0f} records/s",
        f"  {'facebook-business SDK':<30} {result['sdk_per_s']:>12,.0f} records/s",
        f"  {'ratio (ours / SDK)':<30} {result['ratio']:>12.2f}",
    ])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("-n", type=int, default=100_000, help="number of records (default 100000)")
    print(format_comparison(compare(parser.parse_args().n)))


if __name__ == "__main__":
    main()
