"""What a newcomer waits for: clone the checkout, run the README's two Quick start commands,
and print the wall time of the install, of the default workflow and of the test suite, with
the ten slowest tests.

    python3 benchmarks/newcomer.py [--repo .] [--work /tmp/newcomer] [--skip-suite]
        > benchmarks/results/newcomer.txt

The first Quick start command is run in two timed parts, exactly as the README chains them:
`python3 -m venv .venv && .venv/bin/pip install -e '.[test]'` (the install) and
`.venv/bin/snakemake --cores 2` (the workflow); the second is `.venv/bin/python -m pytest`,
run with `--durations=10` added so the slowest tests can be listed. Only what is committed is
cloned. Load average before and after each part tells whether the machine was quiet.
"""

from __future__ import annotations

import argparse
import os
import platform
import re
import shutil
import subprocess
import sys
import time
from datetime import datetime, timezone
from pathlib import Path


def load() -> str:
    one, five, _ = os.getloadavg()
    return f"load {one:.2f} (1 min), {five:.2f} (5 min)"


def timed(label: str, cmd: str, cwd: Path, log: Path) -> tuple[float, str]:
    """Run a shell command, its output to `log`; the wall seconds and the output."""
    print(f"## {label}\n$ {cmd}\nbefore: {load()}", flush=True)
    start = time.monotonic()
    with open(log, "w") as out:
        proc = subprocess.run(cmd, shell=True, cwd=cwd, stdout=out, stderr=subprocess.STDOUT,
                              executable="/bin/bash")
    seconds = time.monotonic() - start
    text = log.read_text()
    print(f"after: {load()}\nexit status {proc.returncode}; wall {seconds:.0f} s "
          f"({seconds / 60:.1f} min); output in {log}\n", flush=True)
    if proc.returncode != 0:
        print(text[-3000:])
        sys.exit(f"{label} failed")
    return seconds, text


def main(argv=None) -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--repo", default=str(Path(__file__).resolve().parents[1]))
    p.add_argument("--work", default="/tmp/newcomer")
    p.add_argument("--skip-suite", action="store_true", help="time install and workflow only")
    a = p.parse_args(argv)

    work = Path(a.work)
    if work.exists():
        shutil.rmtree(work)
    work.mkdir(parents=True)
    clone = work / "asal"
    commit = subprocess.run(["git", "-C", a.repo, "rev-parse", "--short", "HEAD"],
                            capture_output=True, text=True, check=True).stdout.strip()
    print(f"# newcomer benchmark, {datetime.now(timezone.utc):%Y-%m-%d %H:%M} UTC, commit "
          f"{commit}, {platform.node()}, {os.cpu_count()} CPUs\n", flush=True)
    subprocess.run(["git", "clone", "-q", a.repo, str(clone)], check=True)

    install, _ = timed("install (Quick start, first command, part 1)",
                       "python3 -m venv .venv && .venv/bin/pip install -q -e '.[test]'",
                       clone, work / "install.log")
    workflow, text = timed("default workflow (Quick start, first command, part 2)",
                           ".venv/bin/snakemake --cores 2", clone, work / "workflow.log")
    steps = re.findall(r"(\d+) of (\d+) steps \(100%\) done", text)
    jobs = steps[-1][1] if steps else "?"
    figures = [("install", install), (f"workflow ({jobs} jobs)", workflow),
               ("first command (install + workflow)", install + workflow)]
    if not a.skip_suite:
        suite, text = timed("test suite (Quick start, second command)",
                            ".venv/bin/python -m pytest -q --durations=10", clone,
                            work / "suite.log")
        figures.append(("test suite", suite))
        summary = [line for line in text.splitlines() if re.search(r"\d+ passed", line)]
        block = text.split("slowest 10 durations", 1)
        print("## ten slowest tests")
        if len(block) == 2:
            print("\n".join(line for line in block[1].splitlines()[1:12] if line.strip()))
        print(f"\nsuite: {summary[-1] if summary else '?'}\n")
    print("## summary (wall time)")
    for label, seconds in figures:
        print(f"{label:<40} {seconds:7.0f} s  {seconds / 60:5.1f} min")


if __name__ == "__main__":
    main()
