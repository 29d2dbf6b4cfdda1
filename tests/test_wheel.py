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
                    "quickstart/snippets/generate-event-id.js.j2", "quickstart/snippets/runtime.js.j2",
                    "quickstart/snippets/probes/embed.js", "quickstart/snippets/probes/early.js",
                    "quickstart/meta/browser_tables.json", "quickstart/extension_manifests/core-web.extension.json"):
        assert shipped in names

    # A fresh venv without any site-packages of its own making; the dependencies come from the
    # site-packages of the interpreter running the tests (the README's venv, where
    # `pip install -e '.[test]'` put them), added as plain paths so the test needs no network.
    # Their .pth files are not run, so the editable install of quickstart stays out: quickstart
    # itself comes only from the wheel.
    env_dir = tmp_path / "venv"
    venv.create(env_dir, with_pip=True)
    python = env_dir / "bin" / "python"
    own_site = subprocess.run([str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
                              check=True, capture_output=True, text=True).stdout.strip()
    import sysconfig

    running = {sysconfig.get_paths()["purelib"], sysconfig.get_paths()["platlib"]}
    Path(own_site, "test-dependencies.pth").write_text("\n".join(sorted(running)) + "\n", encoding="utf-8")
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
    head = (work / "example.com" / "snippets" / "head.development.html").read_text()
    assert head.count("<script") == 2 and "mc.track = function" in head  # the queue, then the embed
    assert "MetaConversion_Purchase" in (work / "example.com" / "tags.yaml").read_text()
    proc = subprocess.run([str(python), "-m", "quickstart", "--version"], cwd=work, capture_output=True, text=True)
    assert proc.returncode == 0 and "quickstart" in proc.stdout
