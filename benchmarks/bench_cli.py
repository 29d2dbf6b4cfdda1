"""Wall time of the CLI, side by side with a reference.

Prints the median of N runs of `quickstart --help`, `cookiecutter --help` (the reference: a
well-known Python project generator CLI) and `quickstart init --yes`, each in a fresh process.
The target: `quickstart --help` at most 0.6x of `cookiecutter --help` on the same machine.

    python benchmarks/bench_cli.py [--runs 20]
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path


def median_seconds(command: list[str], runs: int, cwd: str | None = None, before=None) -> float:
    times = []
    for _ in range(runs):
        if before:
            before()
        start = time.perf_counter()
        subprocess.run(command, cwd=cwd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                       stdin=subprocess.DEVNULL, check=True)
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=20)
    runs = parser.parse_args().runs
    bindir = Path(sys.executable).parent
    quickstart = shutil.which("quickstart", path=str(bindir)) or shutil.which("quickstart")
    cookiecutter = shutil.which("cookiecutter", path=str(bindir)) or shutil.which("cookiecutter")
    if not quickstart:
        sys.exit("quickstart is not installed: pip install -e .")

    rows = [("quickstart --help", median_seconds([quickstart, "--help"], runs))]
    if cookiecutter:
        rows.append(("cookiecutter --help (reference)", median_seconds([cookiecutter, "--help"], runs)))
    with tempfile.TemporaryDirectory() as work:
        out = Path(work) / "example.com"
        rows.append(("quickstart init --yes", median_seconds(
            [quickstart, "init", "example.com", "--pixel-id", "1234567890", "--yes", "-o", str(out)], runs,
            before=lambda: shutil.rmtree(out, ignore_errors=True))))

    print(f"median wall time over {runs} runs (python {sys.version.split()[0]})")
    for name, seconds in rows:
        print(f"  {name:<34} {seconds * 1000:8.1f} ms")
    if cookiecutter:
        ratio = rows[0][1] / rows[1][1]
        verdict = "ok" if ratio <= 0.6 else "over the 0.6x target"
        print(f"  quickstart --help / cookiecutter --help = {ratio:.2f}x ({verdict})")
    else:
        print("  (pip install cookiecutter for the reference row)")


if __name__ == "__main__":
    main()
