"""`quickstart --help` stays fast: heavy libraries are imported only by the commands that use them."""

from __future__ import annotations

import json
import subprocess
import sys

HEAVY = ("questionary", "prompt_toolkit", "requests", "urllib3", "playwright", "jsonschema", "jinja2", "ruamel")


def loaded_after(code: str) -> set[str]:
    probe = code + "\nimport sys, json\nprint(json.dumps(sorted({m.split('.')[0] for m in sys.modules})))"
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True).stdout
    return set(json.loads(out.strip().splitlines()[-1]))


def test_importing_the_cli_loads_no_heavy_module():
    assert not loaded_after("import quickstart.cli") & set(HEAVY)


def test_help_of_every_command_loads_no_heavy_module():
    for args in ([], ["init"], ["update"], ["validate"], ["apply"]):
        code = (
            "import sys\nfrom quickstart.cli import cli\n"
            f"try:\n    cli.main(args={args + ['--help']!r}, prog_name='quickstart')\nexcept SystemExit:\n    pass"
        )
        assert not loaded_after(code) & set(HEAVY), args


def test_the_probe_can_see_a_heavy_import():
    """Guards the test above: the probe does notice a loaded module."""
    assert "requests" in loaded_after("import requests")


def test_offline_validate_loads_neither_http_nor_phone_libraries(generated, tmp_path):
    """`validate --static-only` needs no requests, phonenumbers or pycountry; once the settings
    passed their schemas (a cache keyed by settings and manifests), no jsonschema either."""
    import os

    env = {**os.environ, "QUICKSTART_CACHE_DIR": str(tmp_path / "cache")}
    code = ("from quickstart.cli import main\n"
            f"try:\n    main(['validate', {str(generated)!r}, '--static-only'])\nexcept SystemExit as exit:\n"
            "    assert exit.code == 0, exit.code\n")

    def loaded() -> set[str]:
        probe = code + "import sys, json\nprint(json.dumps(sorted({m.split('.')[0] for m in sys.modules})))"
        out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True, env=env).stdout
        return set(json.loads(out.strip().splitlines()[-1]))

    first = loaded()
    assert not first & {"requests", "urllib3", "phonenumbers", "pycountry", "questionary"}
    assert "jsonschema" in first  # the first check validates
    second = loaded()
    assert not second & {"requests", "urllib3", "phonenumbers", "pycountry", "questionary", "jsonschema"}
