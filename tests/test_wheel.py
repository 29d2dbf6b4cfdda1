"""The wheel carries templates/ and snippets/: build it, install it into a fresh venv, run init from there."""

from __future__ import annotations

import subprocess
import sys
import venv
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


@pytest.mark.slow
def test_wheel_installs_and_runs_init(tmp_path):
    dist = tmp_path / "dist"
    subprocess.run([sys.executable, "-m", "pip", "wheel", str(ROOT), "--no-deps", "--no-build-isolation", "-q",
                    "-w", str(dist)], check=True, capture_output=True, text=True)
    wheel = next(dist.glob("quickstart-*.whl"))

    import zipfile

    names = zipfile.ZipFile(wheel).namelist()
    for shipped in ("quickstart/templates/head.html.j2", "quickstart/templates/data-layer.js.j2",
                    "quickstart/snippets/generate-event-id.js.j2", "quickstart/extension_manifests/core-web.extension.json"):
        assert shipped in names

    # A fresh venv; the dependencies come from this interpreter's site-packages so the test needs no
    # network, but quickstart itself only from the wheel.
    env_dir = tmp_path / "venv"
    venv.create(env_dir, with_pip=True, system_site_packages=True)
    python = env_dir / "bin" / "python"
    subprocess.run([str(python), "-m", "pip", "install", "--no-deps", "--force-reinstall", "-q", str(wheel)],
                   check=True, capture_output=True, text=True)
    work = tmp_path / "work"
    work.mkdir()
    where = subprocess.run([str(python), "-c", "import quickstart.resources as r; print(r.resource_dir('templates'))"],
                           cwd=work, check=True, capture_output=True, text=True).stdout.strip()
    assert where.startswith(str(env_dir)), where
    quickstart = env_dir / "bin" / "quickstart"
    proc = subprocess.run([str(quickstart), "init", "example.com", "--pixel-id", "1234567890", "--yes"],
                          cwd=work, capture_output=True, text=True, stdin=subprocess.DEVNULL)
    assert proc.returncode == 0, proc.stderr
    assert (work / "example.com" / "snippets" / "head.html").read_text().count("<script") == 1
    assert "MetaConversion_Purchase" in (work / "example.com" / "tags.yaml").read_text()
    proc = subprocess.run([str(python), "-m", "quickstart", "--version"], cwd=work, capture_output=True, text=True)
    assert proc.returncode == 0 and "quickstart" in proc.stdout
