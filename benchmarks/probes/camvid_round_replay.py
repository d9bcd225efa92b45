"""Replay one round's jobs by hand, one at a time, and time each: the round's stage share on the
current code without the workflow's own concurrency.

Each stage job logs its exact command as its first line (asal.cli). This script takes the seven
jobs of round t of a method and trial from an earlier run's logs (predict(t-1), merge, acquire,
query, sieve, train, evaluate; see benchmarks/camvid_stage_share.py for why predict(t-1)
belongs to round t), points every output (--out; query's --answers and --labelled-out;
train's --log-out) into a temporary folder, and runs them in that order, each as its own
process as Snakemake would, with the same inputs the run used. It prints each job's wall and
CPU seconds and the share of everything except train and predict. Nothing of the run is
overwritten.

    .venv/bin/python benchmarks/probes/camvid_round_replay.py --method AMSP+S --trial 0 --round 2

Needs the earlier run's artifacts and logs (results/camvid, results/logs/camvid) and CamVid.
Takes about as long as one round (~3 minutes on one core, train being most of it).
"""

from __future__ import annotations

import argparse
import os
import resource
import shlex
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "workflow"))

ORDER = ("predict", "merge", "acquire", "query", "sieve", "train", "evaluate")
CORE = ("train", "predict")
OUTPUT_FLAGS = {"query": ("--answers", "--labelled-out"), "train": ("--out", "--log-out")}


def banner_command(log: Path) -> list[str]:
    first = log.read_text(errors="replace").splitlines()[0]
    marker = " INFO asal: asal "
    if marker not in first:
        raise ValueError(f"{log}: first line is not the asal command banner")
    words = shlex.split(first.split(marker, 1)[1])
    return words[1:]  # drop the version


def find_log(logs: Path, rule: str, method: str, trial: int, rnd: int) -> Path:
    base = logs / rule / method / f"trial{trial}" / f"round{rnd}"
    for path in (Path(f"{base}.log"), base):
        if path.is_file():
            return path
    raise FileNotFoundError(f"{base}[.log]: no log of that job")


def main(argv=None) -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--experiment", default="camvid")
    p.add_argument("--method", default="AMSP+S")
    p.add_argument("--trial", type=int, default=0)
    p.add_argument("--round", type=int, default=2)
    p.add_argument("--out", default=None, help="also write the figures to this file")
    args = p.parse_args(argv)
    from asal.store import layout

    if args.round < 1:
        sys.exit("--round must be 1 or later (round 0 is the warm-up)")
    logs = ROOT / "results" / "logs" / args.experiment
    src = layout.source_method(args.method, args.round - 1)
    jobs = []
    for rule in ORDER:
        method, rnd = (src, args.round - 1) if rule == "predict" else (args.method, args.round)
        jobs.append((rule, banner_command(find_log(logs, rule, method, args.trial, rnd))))
    asal = Path(sys.executable).with_name("asal")
    cmd0 = [str(asal)] if asal.exists() else [sys.executable, "-m", "asal"]
    lines = []

    def emit(line: str = "") -> None:
        print(line, flush=True)
        lines.append(line)

    emit(f"# replay of {args.experiment} {args.method} trial {args.trial} round {args.round}, "
         f"one job at a time; load average at start "
         f"{' '.join(f'{x:.1f}' for x in os.getloadavg())} on {os.cpu_count()} cores")
    emit(f"{'rule':10s} {'wall s':>8s} {'cpu s':>8s}")
    times = {}
    with tempfile.TemporaryDirectory(prefix="asal_replay_") as tmp:
        for rule, words in jobs:
            words = list(words)
            for i, w in enumerate(words[:-1]):
                if w in OUTPUT_FLAGS.get(rule, ("--out",)):
                    words[i + 1] = str(Path(tmp) / f"{rule}_{Path(words[i + 1]).name}")
            before = resource.getrusage(resource.RUSAGE_CHILDREN)
            start = time.perf_counter()
            done = subprocess.run(cmd0 + words, cwd=ROOT, capture_output=True, text=True)
            wall = time.perf_counter() - start
            after = resource.getrusage(resource.RUSAGE_CHILDREN)
            if done.returncode:
                sys.exit(f"{rule} failed:\n{done.stderr[-3000:]}")
            cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
            times[rule] = (wall, cpu)
            emit(f"{rule:10s} {wall:8.1f} {cpu:8.1f}")
    total = sum(w for w, _ in times.values())
    other = sum(w for r, (w, _) in times.items() if r not in CORE)
    total_cpu = sum(c for _, c in times.values())
    other_cpu = sum(c for r, (_, c) in times.items() if r not in CORE)
    emit(f"round {total:.1f} s wall, other than train and predict {other:.1f} s = "
         f"{other / total:.1%} (CPU: {other_cpu:.1f} of {total_cpu:.1f} s = "
         f"{other_cpu / total_cpu:.1%})")
    if args.out:
        Path(args.out).write_text("\n".join(lines) + "\n")


if __name__ == "__main__":
    main()
