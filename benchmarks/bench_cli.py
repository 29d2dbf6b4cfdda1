"""The CLI where users wait, side by side with the generators people know, in one run.

Each command runs in a fresh process, N times, the contenders interleaved so they share the
machine's load; the figure is the median CPU time (user + system) of the child process, which
is steadier than wall time (printed too). References, installed by the test extras:
cookiecutter and copier. For `init`, the benchmark builds a copier template and a cookiecutter
template of the same files from a folder `quickstart init` wrote (the domain and pixel id are
their variables), so all three write the same files.

    python benchmarks/bench_cli.py [--runs 15]

Targets (issue 13): `init --yes` at most 0.3x a copier render and 0.5x cookiecutter; `update`
with nothing to change at most 0.35x `init`; `validate --static-only` at most 3x `--help`;
`--help` well under both references'.
"""

from __future__ import annotations

import argparse
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

DOMAIN, PIXEL = "example.com", "1234567890"


def _tool(name: str) -> str | None:
    return shutil.which(name, path=str(Path(sys.executable).parent)) or shutil.which(name)


def run_once(command: list[str], cwd: str, env: dict[str, str], before=None) -> tuple[float, float]:
    """(CPU seconds, wall seconds) of one run of `command` in a child process."""
    if before:
        before()
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    subprocess.run(command, cwd=cwd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                   stdin=subprocess.DEVNULL, check=True)
    wall = time.perf_counter() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return (after.ru_utime - usage.ru_utime) + (after.ru_stime - usage.ru_stime), wall


def _raw_template(text: str, domain_var: str, pixel_var: str) -> str:
    """The file as a jinja template whose only variables are the domain and the pixel id."""
    body = text.replace(DOMAIN, "\0D").replace(PIXEL, "\0P")
    body = body.replace("\0D", "{% endraw %}{{ " + domain_var + " }}{% raw %}")
    body = body.replace("\0P", "{% endraw %}{{ " + pixel_var + " }}{% raw %}")
    return "{% raw %}" + body + "{% endraw %}"


def build_references(folder: Path, work: Path) -> tuple[Path, Path]:
    """A copier and a cookiecutter template that write `folder`'s files."""
    files = [p for p in folder.rglob("*") if p.is_file() and p.name != ".env"]
    copier_dir = work / "copier-template"
    copier_dir.mkdir()
    (copier_dir / "copier.yml").write_text(
        f"_templates_suffix: .jinja\ndomain:\n  type: str\n  default: {DOMAIN}\n"
        f"pixel_id:\n  type: str\n  default: '{PIXEL}'\n", encoding="utf-8")
    cookie_dir = work / "cookiecutter-template"
    cookie_root = cookie_dir / "{{cookiecutter.domain}}"
    cookie_root.mkdir(parents=True)
    (cookie_dir / "cookiecutter.json").write_text(f'{{"domain": "{DOMAIN}", "pixel_id": "{PIXEL}"}}', encoding="utf-8")
    for path in files:
        relative = path.relative_to(folder)
        text = path.read_text(encoding="utf-8")
        target = copier_dir / relative.parent / (relative.name + ".jinja")
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(_raw_template(text, "domain", "pixel_id"), encoding="utf-8")
        target = cookie_root / relative
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(_raw_template(text, "cookiecutter.domain", "cookiecutter.pixel_id"), encoding="utf-8")
    return copier_dir, cookie_dir


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=15)
    runs = parser.parse_args().runs
    quickstart, cookiecutter, copier = _tool("quickstart"), _tool("cookiecutter"), _tool("copier")
    if not quickstart:
        sys.exit("quickstart is not installed: pip install -e .")
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        env = {**os.environ, "HOME": str(work), "QUICKSTART_CACHE_DIR": str(work / "cache")}
        seed = work / "seed" / DOMAIN
        subprocess.run([quickstart, "init", DOMAIN, "--pixel-id", PIXEL, "--yes", "-o", str(seed)],
                       check=True, capture_output=True, env=env)
        subprocess.run([quickstart, "validate", str(seed), "--static-only"], check=True, capture_output=True, env=env)
        copier_template, cookie_template = build_references(seed, work)
        out = work / "out"

        def fresh() -> None:
            shutil.rmtree(out, ignore_errors=True)
            out.mkdir()

        contenders: dict[str, tuple[list[str], object]] = {
            "quickstart --help": ([quickstart, "--help"], None),
            "quickstart init --yes": ([quickstart, "init", DOMAIN, "--pixel-id", PIXEL, "--yes", "-o", str(out / DOMAIN)], fresh),
            "quickstart update (no change)": ([quickstart, "update", str(seed)], None),
            "quickstart validate --static-only": ([quickstart, "validate", str(seed), "--static-only"], None),
        }
        if cookiecutter:
            contenders["cookiecutter --help"] = ([cookiecutter, "--help"], None)
            contenders["cookiecutter (same files)"] = (
                [cookiecutter, "--no-input", "-f", "-o", str(out), str(cookie_template)], fresh)
        if copier:
            contenders["copier --help"] = ([copier, "--help"], None)
            contenders["copier copy (same files)"] = (
                [copier, "copy", "--defaults", "--quiet", "--overwrite", str(copier_template), str(out / DOMAIN)], fresh)
        samples: dict[str, list[tuple[float, float]]] = {name: [] for name in contenders}
        for _ in range(runs):
            for name, (command, before) in contenders.items():
                samples[name].append(run_once(command, str(work), env, before))

    cpu = {name: statistics.median(s[0] for s in values) for name, values in samples.items()}
    wall = {name: statistics.median(s[1] for s in values) for name, values in samples.items()}
    print(f"median of {runs} runs per command, interleaved (python {sys.version.split()[0]})")
    print(f"  {'command':<36} {'CPU ms':>8} {'wall ms':>8}")
    for name in contenders:
        print(f"  {name:<36} {cpu[name] * 1000:8.1f} {wall[name] * 1000:8.1f}")
    print("ratios (CPU time):")

    def ratio(a: str, b: str, target: float | None) -> None:
        if a in cpu and b in cpu:
            value = cpu[a] / cpu[b]
            verdict = "" if target is None else (f"  (target <= {target}x: {'ok' if value <= target else 'MISSED'})")
            print(f"  {a} / {b} = {value:.2f}x{verdict}")

    ratio("quickstart --help", "cookiecutter --help", 0.6)
    ratio("quickstart --help", "copier --help", None)
    ratio("quickstart init --yes", "copier copy (same files)", 0.3)
    ratio("quickstart init --yes", "cookiecutter (same files)", 0.5)
    ratio("quickstart update (no change)", "quickstart init --yes", 0.35)
    ratio("quickstart validate --static-only", "quickstart --help", 3.0)


if __name__ == "__main__":
    main()
