"""Where does a round's wall time go? Seconds per rule from Snakemake's benchmark files.

Every rule of the workflow has a `benchmark:` directive (asal.store.layout.benchmark_file):
results/benchmarks/<experiment>/<rule>/<method>/trial<k>/round<t>.tsv for the per-round rules,
results/benchmarks/<experiment>/<rule>[/<spx> or /trial<k>].tsv for the others. Snakemake
writes one row per job: `s` is the job's wall time, `cpu_time` its CPU seconds, `mean_load` the
mean CPU load in percent. (With compute.shards == 1 the predict and superpixelize rules write
their file without the .tsv suffix; both spellings are read.)

A round t >= 1 of method M, trial k is the chain of jobs that turns the model of round t-1 into
the model of round t and its score:

    predict(t-1) -> merge(t) -> acquire(t) -> query(t) -> sieve(t) -> train(t) -> evaluate(t)

predict(t-1) is the forward pass of theta_{t-1} over the pool whose statistics merge(t) and
acquire(t) read; its file sits in round t-1's folder (for t = 1 it is the warm-up's predict,
shared by every method of the trial: it counts in each method's round 1, and once in the
totals). The jobs run one after the other, so a round's wall time is the sum of their `s`.
Round 0 (the warm-up: warmup (draw_warmup before it was renamed), query, sieve, train, evaluate; shared by the methods of a
trial) is listed apart. "other" is everything in a round except train and predict; the issue's
target is other / round < 10%.

The run used `--cores 2`, so two jobs often ran at once and each one's wall time includes
waiting for the CPU; the same shares computed from cpu_time are printed beside.

    .venv/bin/python benchmarks/camvid_stage_share.py [--bench results/benchmarks/camvid]
"""

from __future__ import annotations

import argparse
import os
import re
import sys
from collections import defaultdict
from datetime import datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "workflow"))

ROUND_RULES = ("predict", "merge", "acquire", "query", "sieve", "train", "evaluate")
CORE = ("train", "predict")
PER_ROUND = re.compile(r"^(?P<rule>[^/]+)/(?P<method>[^/]+)/trial(?P<trial>\d+)/"
                       r"round(?P<round>\d+)(?:\.(?P<shard>\d+))?(?:\.tsv)?$")


def read_tsv(path: Path) -> dict:
    """The mean of a benchmark file's rows (one row unless `repeat` was used)."""
    lines = [ln.split("\t") for ln in path.read_text().splitlines() if ln.strip()]
    header, rows = lines[0], lines[1:]
    if "s" not in header or not rows:
        raise ValueError(f"{path}: not a Snakemake benchmark file")
    out = {}
    for key in ("s", "cpu_time", "mean_load", "max_rss"):
        vals = [float(r[header.index(key)]) for r in rows
                if key in header and r[header.index(key)] not in ("", "NA", "-")]
        out[key] = sum(vals) / len(vals) if vals else float("nan")
    out["end"] = path.stat().st_mtime
    return out


def collect(bench: Path) -> tuple[list[dict], list[dict]]:
    per_round, once = [], []
    for path in sorted(p for p in bench.rglob("*") if p.is_file()):
        rel = path.relative_to(bench).as_posix()
        try:
            row = read_tsv(path)
        except (ValueError, IndexError):
            print(f"# skipped {rel}: not a benchmark file", file=sys.stderr)
            continue
        m = PER_ROUND.match(rel)
        if m:
            row.update(rule=m["rule"], method=m["method"], trial=int(m["trial"]),
                       round=int(m["round"]), shard=m["shard"])
            per_round.append(row)
        else:
            row.update(rule=re.sub(r"\.tsv$", "", rel))
            once.append(row)
    return per_round, once


LOOP_DONE = re.compile(r"\(100%\), (?P<s>[0-9.]+) s elapsed")


def loop_seconds(logs: Path, job: dict) -> float | None:
    """Seconds of the stage's main progress loop (its last "(100%), X s elapsed" line), from
    the job's log: the model's forward passes in predict, sieve and evaluate, the optimisation
    in train, the region growing in merge. None where the log has no such line."""
    base = logs / job["rule"] / job["method"] / f"trial{job['trial']}" / f"round{job['round']}"
    suffix = f".{job['shard']}" if job.get("shard") else ""
    for path in (Path(f"{base}{suffix}.log"), Path(f"{base}{suffix}")):
        if path.is_file():
            found = LOOP_DONE.findall(path.read_text(errors="replace"))
            return float(found[-1]) if found else None
    return None


def import_cost(repeat: int = 3) -> tuple[float, float]:
    """Fastest wall and CPU seconds of a fresh `python -c "import asal.stages"`: what every
    stage job pays before reading its first input (asal.stages imports torch, pandas, ...)."""
    import resource
    import subprocess
    import time

    best_wall = best_cpu = float("inf")
    env = {**os.environ, "PYTHONPATH": str(ROOT / "workflow")}
    for _ in range(repeat):
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        start = time.perf_counter()
        subprocess.run([sys.executable, "-c", "import asal.stages"], check=True, env=env)
        wall = time.perf_counter() - start
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
        best_wall, best_cpu = min(best_wall, wall), min(best_cpu, cpu)
    return best_wall, best_cpu


def warmup_of(config: dict | None):
    from asal.store import layout

    def source(method: str) -> str:
        if config is None:
            return layout.WARMUP
        from asal.experiment.methods import superpixel_kind

        return layout.warmup_method(superpixel_kind(config, method))

    return source


def load_config(paths: list[str]) -> dict | None:
    """config.yaml overlaid with the experiment's config file, as `snakemake --configfile`."""
    import yaml

    config: dict = {}

    def merge(a: dict, b: dict) -> None:
        for k, v in b.items():
            if isinstance(v, dict) and isinstance(a.get(k), dict):
                merge(a[k], v)
            else:
                a[k] = v

    for p in paths:
        merge(config, yaml.safe_load(Path(p).read_text()) or {})
    return config


def rounds(per_round: list[dict], warmup_source) -> dict:
    """{(method, trial, round): {rule: {"s": .., "cpu_time": ..}}} for rounds >= 1, and
    {("warm-up", trial, 0): ...} for the warm-up."""
    jobs = defaultdict(lambda: defaultdict(lambda: {"s": 0.0, "cpu_time": 0.0}))
    index = defaultdict(list)
    for j in per_round:
        index[(j["rule"], j["method"], j["trial"], j["round"])].append(j)
    methods = sorted({j["method"] for j in per_round if not j["method"].startswith("warmup")})
    out = {}
    for (rule, method, trial, rnd), js in index.items():
        if method.startswith("warmup"):
            if rnd == 0 and rule != "predict":
                key = (method, trial, 0)
                for j in js:
                    jobs[key][rule]["s"] += j["s"]
                    jobs[key][rule]["cpu_time"] += j["cpu_time"]
            continue
        if rule in ("predict", "gather_stats"):
            continue  # added below, to the round it feeds
        for j in js:
            jobs[(method, trial, rnd)][rule]["s"] += j["s"]
            jobs[(method, trial, rnd)][rule]["cpu_time"] += j["cpu_time"]
    for (method, trial, rnd) in list(jobs):
        if method.startswith("warmup"):
            continue
        src = warmup_source(method) if rnd == 1 else method
        for rule in ("predict", "gather_stats"):
            for j in index.get((rule, src, trial, rnd - 1), []):
                jobs[(method, trial, rnd)][rule]["s"] += j["s"]
                jobs[(method, trial, rnd)][rule]["cpu_time"] += j["cpu_time"]
        if not index.get(("predict", src, trial, rnd - 1)):
            print(f"# warning: no predict benchmark for {method} trial {trial} round {rnd}",
                  file=sys.stderr)
    for key, rules in jobs.items():
        out[key] = {r: dict(v) for r, v in rules.items()}
    return out, methods


def share(rules: dict, key: str = "s") -> tuple[float, float, float]:
    total = sum(v[key] for v in rules.values())
    other = sum(v[key] for r, v in rules.items() if r not in CORE)
    return total, other, other / total if total else float("nan")


def main(argv=None) -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--bench", default=str(ROOT / "results" / "benchmarks" / "camvid"),
                   help="the experiment's benchmark folder")
    p.add_argument("--config", nargs="*",
                   default=[str(ROOT / "config.yaml"),
                            str(ROOT / "workflow" / "configs" / "camvid.yaml")],
                   help="config files of the run, later ones overriding (to know which "
                        "warm-up a method's round 1 reads; none: the SEEDS warm-up)")
    p.add_argument("--out", default=str(ROOT / "benchmarks" / "results" /
                                        "camvid_stage_share.txt"))
    p.add_argument("--logs", default=None,
                   help="the experiment's job logs (default: results/logs/<experiment>, "
                        "beside the benchmark folder)")
    p.add_argument("--no-import-cost", action="store_true",
                   help="skip timing `import asal.stages` on this machine")
    p.add_argument("--limit", type=float, default=0.10)
    args = p.parse_args(argv)
    bench = Path(args.bench)
    if not bench.is_dir():
        sys.exit(f"{bench}: no benchmark folder (run the workflow first, or give --bench)")
    config = load_config(args.config) if args.config else None
    per_round, once = collect(bench)
    table, methods = rounds(per_round, warmup_of(config))
    lines = []

    def emit(line: str = "") -> None:
        print(line)
        lines.append(line)

    emit(f"# share of a round's wall time outside train and predict, from {bench}")
    emit("# round t >= 1 = predict(t-1) + merge + acquire + query + sieve + train + evaluate "
         "(t); round wall = sum of the jobs' `s`")
    emit(f"# {len(per_round) + len(once)} benchmark files; other = round - train - predict; "
         f"target: other < {args.limit:.0%} of the round")
    cols = [r for r in ("warmup", "draw_warmup") + ROUND_RULES + ("gather_stats",)
            if any(r in rules for rules in table.values())]
    head = (f"{'method':8s} {'trial':>5s} {'round':>5s} "
            + " ".join(f"{c[:8]:>8s}" for c in cols)
            + f" {'round s':>8s} {'other s':>8s} {'other':>6s} {'other(cpu)':>10s}")
    emit("\n## seconds per rule (wall, `s`), per method, trial and round")
    emit(head)
    order = sorted(table, key=lambda k: (k[0].startswith("warmup") is False, k[0], k[1], k[2]))
    for key in order:
        rules = table[key]
        total, other, frac = share(rules)
        _, _, frac_cpu = share(rules, "cpu_time")
        emit(f"{key[0]:8s} {key[1]:5d} {key[2]:5d} "
             + " ".join(f"{rules[c]['s']:8.1f}" if c in rules else f"{'-':>8s}" for c in cols)
             + f" {total:8.1f} {other:8.1f} {frac:6.1%} {frac_cpu:10.1%}")

    def agg(keys):
        rules = defaultdict(lambda: {"s": 0.0, "cpu_time": 0.0})
        for k in keys:
            for r, v in table[k].items():
                rules[r]["s"] += v["s"]
                rules[r]["cpu_time"] += v["cpu_time"]
        return rules

    emit("\n## per method (rounds >= 1, all trials), and per round over methods and trials")
    emit(f"{'group':24s} {'rounds':>6s} {'round s (mean)':>14s} {'other s (mean)':>14s} "
         f"{'other':>6s} {'other(cpu)':>10s} {'max other':>9s}")
    groups = [(m, [k for k in table if k[0] == m]) for m in methods]
    rounds_seen = sorted({k[2] for k in table if not k[0].startswith("warmup")})
    groups += [(f"round {t}", [k for k in table if k[2] == t and not k[0].startswith("warmup")])
               for t in rounds_seen]
    groups += [("all rounds >= 1", [k for k in table if not k[0].startswith("warmup")]),
               ("warm-up (round 0)", [k for k in table if k[0].startswith("warmup")])]
    for name, keys in groups:
        if not keys:
            continue
        rules = agg(keys)
        total, other, frac = share(rules)
        _, _, frac_cpu = share(rules, "cpu_time")
        worst = max(share(table[k])[2] for k in keys)
        emit(f"{name:24s} {len(keys):6d} {total / len(keys):14.1f} {other / len(keys):14.1f} "
             f"{frac:6.1%} {frac_cpu:10.1%} {worst:9.1%}")
    over = [k for k in table if not k[0].startswith("warmup") and share(table[k])[2] > args.limit]
    n_rounds = sum(1 for k in table if not k[0].startswith("warmup"))
    emit(f"rounds >= 1 over the {args.limit:.0%} target: {len(over)} of {n_rounds}")

    emit("\n## seconds by rule over all rounds >= 1 (a shared warm-up predict counted once "
         "per method here)")
    rules = agg([k for k in table if not k[0].startswith("warmup")])
    total = sum(v["s"] for v in rules.values())
    total_cpu = sum(v["cpu_time"] for v in rules.values())
    other = sum(v["s"] for r, v in rules.items() if r not in CORE)
    emit(f"{'rule':14s} {'wall s':>9s} {'of rounds':>9s} {'of other':>9s} {'cpu s':>9s} "
         f"{'of rounds(cpu)':>14s}")
    for r, v in sorted(rules.items(), key=lambda kv: -kv[1]["s"]):
        of_other = f"{v['s'] / other:9.1%}" if r not in CORE else f"{'-':>9s}"
        emit(f"{r:14s} {v['s']:9.1f} {v['s'] / total:9.1%} {of_other} "
             f"{v['cpu_time']:9.1f} {v['cpu_time'] / total_cpu:14.1%}")

    logs = Path(args.logs) if args.logs else bench.parent.parent / "logs" / bench.name
    if logs.is_dir():
        emit(f"\n## inside and outside each stage's main loop, rounds >= 1 (loop seconds from "
             f"the job logs in {logs})")
        emit("# loop = the stage's progress loop (forward passes, optimisation, region "
             "growing); outside = the rest of the job: Python start, imports, reading and "
             "writing artifacts (acquire and query log no loop)")
        emit(f"{'rule':10s} {'jobs':>5s} {'wall s':>8s} {'loop s':>8s} {'outside s':>9s} "
             f"{'cpu s':>7s}  (means per job)")
        in_round = defaultdict(list)
        for j in per_round:
            if j["rule"] in ROUND_RULES and (j["round"] > 0 or j["rule"] == "predict"):
                loop = loop_seconds(logs, j)
                in_round[j["rule"]].append((j["s"], loop or 0.0, j["cpu_time"]))
        outside_other = 0.0
        for rule in ROUND_RULES:
            rows = in_round.get(rule)
            if not rows:
                continue
            wall = sum(r[0] for r in rows) / len(rows)
            loop = sum(r[1] for r in rows) / len(rows)
            cpu = sum(r[2] for r in rows) / len(rows)
            if rule not in CORE:
                outside_other += wall - loop
            emit(f"{rule:10s} {len(rows):5d} {wall:8.1f} {loop:8.1f} {wall - loop:9.1f} "
                 f"{cpu:7.1f}")
        mean_round = sum(share(table[k])[0] for k in table
                         if not k[0].startswith("warmup")) / max(1, n_rounds)
        emit(f"outside the loops, the five other jobs of a round take {outside_other:.1f} s "
             f"(wall, means summed) = {outside_other / mean_round:.1%} of the mean round "
             f"({mean_round:.1f} s)")
    if not args.no_import_cost:
        wall, cpu = import_cost()
        n_other = len([r for r in ROUND_RULES if r not in CORE])
        emit("\n## fixed cost of a job, measured now on this machine")
        emit(f"`python -c 'import asal.stages'` (torch, pandas, ...): {wall:.2f} s wall, "
             f"{cpu:.2f} s CPU (fastest of 3); every job pays it, so the {n_other} jobs of a "
             f"round besides train and predict pay about {n_other * cpu:.1f} s CPU for "
             f"imports alone")

    emit("\n## once per experiment (not in any round)")
    for j in sorted(once, key=lambda j: j["rule"]):
        emit(f"{j['rule']:24s} {j['s']:8.1f} s wall, {j['cpu_time']:8.1f} s cpu")

    everything = per_round + once
    emit("\n## whole run (each job once)")
    by_rule = defaultdict(float)
    for j in everything:
        by_rule[j["rule"]] += j["s"]
    job_s = sum(by_rule.values())
    emit(f"sum of all jobs' wall time {job_s:.0f} s; train {by_rule['train']:.0f} s "
         f"({by_rule['train'] / job_s:.1%}), predict {by_rule['predict']:.0f} s "
         f"({by_rule['predict'] / job_s:.1%}), everything else "
         f"{job_s - by_rule['train'] - by_rule['predict']:.0f} s "
         f"({1 - (by_rule['train'] + by_rule['predict']) / job_s:.1%})")
    start = min(j["end"] - j["s"] for j in everything)
    end = max(j["end"] for j in everything)
    emit(f"timeline from the files' modification times (valid if they were not copied): "
         f"{datetime.fromtimestamp(start):%Y-%m-%d %H:%M:%S} to "
         f"{datetime.fromtimestamp(end):%H:%M:%S}, {end - start:.0f} s elapsed; "
         f"{job_s / (end - start):.2f} jobs running on average")
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text("\n".join(lines) + "\n")
    print(f"# written to {out}; replay a round on the current code, one job at a time: "
          "benchmarks/probes/camvid_round_replay.py")


if __name__ == "__main__":
    main()
