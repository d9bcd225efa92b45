"""What one trial of a paper experiment costs, and where the time goes.

Runs a config (default: workflow/configs/paper/fig3_clicks.yaml) with `trials` trials from an
empty results folder, in a git worktree of the given commit (so the code measured is that
commit's, whatever the checkout holds), timed as a whole; then sums every job's CPU seconds
by rule from Snakemake's benchmark files and counts the jobs, so the share of training, of
the other stages and of the start-up of a job (Python, imports) can be read off.

    python benchmarks/trial_cost.py --ref HEAD --work /tmp/trial_cost
    python benchmarks/trial_cost.py --summarise /tmp/trial_cost/tree --wall 929

Run it on a quiet machine: two cores kept busy by something else double the figure. The
dataset is read from ../shared/data beside the project checkout.
"""

from __future__ import annotations

import argparse
import collections
import csv
import os
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def run(ref: str, work: Path, config: str, trials: int, cores: int) -> tuple[Path, float]:
    """A worktree of `ref` under `work`, the config run in it from nothing; (tree, wall s)."""
    tree = work / "tree"
    if tree.exists():
        raise SystemExit(f"{tree} exists: give an empty --work (the run must start from "
                         "nothing)")
    work.mkdir(parents=True, exist_ok=True)
    subprocess.run(["git", "-C", str(REPO), "worktree", "add", "--detach", str(tree), ref],
                   check=True, capture_output=True)
    data = REPO.parent / "shared" / "data" / "camvid"
    override = work / "override.yaml"
    override.write_text(f"trials: {trials}\ndataset: {{root: {data}}}\n")
    env = {**os.environ, "PYTHONPATH": str(tree / "workflow"),
           "PATH": f"{Path(sys.executable).parent}:{os.environ['PATH']}"}
    load = os.getloadavg()[0]
    start = time.monotonic()
    with open(work / "snakemake.log", "w") as out:
        proc = subprocess.run([str(Path(sys.executable).parent / "snakemake"), "--configfile",
                               config, str(override), "--cores", str(cores)], cwd=tree,
                              env=env, stdout=out, stderr=subprocess.STDOUT)
    wall = time.monotonic() - start
    print(f"# {ref} ({subprocess.check_output(['git', '-C', str(tree), 'rev-parse', '--short', 'HEAD'], text=True).strip()}), "
          f"{config}, {trials} trial(s), --cores {cores}: exit {proc.returncode}, "
          f"wall {wall:.0f} s; load before {load:.2f}, after {os.getloadavg()[0]:.2f}")
    return tree, wall


def _trial(path: Path) -> int | None:
    for part in path.parts:
        stem = part.removesuffix(".tsv")
        if stem.startswith("trial") and stem[5:].isdigit():
            return int(stem[5:])
    return None


def summarise(tree: Path, wall: float | None, trials: int | None = None) -> None:
    """Per-rule jobs, CPU seconds and share, from the run's benchmark files (of the first
    `trials` trials and the jobs of no trial, when given)."""
    cpu, jobs, secs = collections.Counter(), collections.Counter(), collections.Counter()
    for tsv in (tree / "results" / "benchmarks").rglob("*.tsv"):
        trial = _trial(tsv)
        if trials is not None and trial is not None and trial >= trials:
            continue
        rule = tsv.relative_to(tree / "results" / "benchmarks").parts[1].removesuffix(".tsv")
        with open(tsv) as f:
            row = list(csv.DictReader(f, delimiter="\t"))[-1]
        cpu[rule] += float(row["cpu_time"])
        secs[rule] += float(row["s"])
        jobs[rule] += 1
    total = sum(cpu.values())
    print(f"{'rule':16s} {'jobs':>5s} {'cpu s':>8s} {'share':>6s} {'cpu s/job':>9s}")
    for rule, c in cpu.most_common():
        print(f"{rule:16s} {jobs[rule]:5d} {c:8.1f} {100 * c / total:5.1f}% "
              f"{c / jobs[rule]:9.2f}")
    print(f"{'all':16s} {sum(jobs.values()):5d} {total:8.1f}")
    if wall:
        print(f"wall {wall:.0f} s: the jobs kept {total / wall:.2f} cores busy on average")


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--ref", default="HEAD", help="commit to measure")
    p.add_argument("--work", type=Path, default=Path("/tmp/trial_cost"))
    p.add_argument("--config", default="workflow/configs/paper/fig3_clicks.yaml")
    p.add_argument("--trials", type=int, default=None,
                   help="trials to run (default 1); with --summarise, the first trials to "
                        "count (default all)")
    p.add_argument("--cores", type=int, default=2)
    p.add_argument("--summarise", type=Path, default=None,
                   help="only summarise a finished run's folder (the worktree it ran in)")
    p.add_argument("--wall", type=float, default=None, help="with --summarise: its wall s")
    args = p.parse_args()
    if args.summarise is not None:
        summarise(args.summarise, args.wall, args.trials)
        return
    tree, wall = run(args.ref, args.work, args.config, args.trials or 1, args.cores)
    summarise(tree, wall, args.trials)


if __name__ == "__main__":
    main()
