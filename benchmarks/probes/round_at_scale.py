"""Merge, acquire and query of one round on a synthetic Cityscapes-size pool: time and peak
memory of each stage, each run as its own process, at one or more pool scales.

    .venv/bin/python benchmarks/probes/round_at_scale.py --scales 1 4

Scale 1 is Cityscapes: 2975 images x 8192 base superpixels (a 64 x 128 grid with SEEDS-like
diagonal contacts, about 6 neighbours each), 19 classes, 0.8% of the pool labelled in earlier
rounds, a budget of 100k clicks (about 0.4% of the pool). The statistics are random but
spatially coherent (see asal.data.scale_pool), so merging really merges. The pool is written once
per scale as the real artifacts (superpixels without pixel maps, predict statistics, oracle
table, labelled set) and is not timed. Each stage runs in a fresh process; its wall time and
peak resident memory (ru_maxrss from wait4) are printed. Targets (issue "Cityscapes scale"):
merge + acquire + query at most 5 minutes at scale 1 for both merging modes, peak memory
under 4 GiB, and no growth of memory from scale 1 to scale 4.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO / "workflow"))

FILES = ("superpixels", "stats", "oracle", "labelled")


def child(argv: list[str]) -> None:
    """Run one stage in this process (the parent measures it)."""
    import logging

    from asal.cli import call

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s")
    what, work, extra = argv[0], Path(argv[1]), json.loads(argv[2])
    p = {k: str(work / f"{k}.h5") for k in FILES}
    if what == "merge":
        call("merge", superpixels=p["superpixels"], stats=p["stats"], labelled=p["labelled"],
             spec={"mode": extra["mode"]}, out=work / f"merged_{extra['mode']}.h5")
    elif what == "acquire":
        call("acquire", superpixels=p["superpixels"], stats=p["stats"],
             merged=work / f"merged_{extra['mode']}.h5", labelled=p["labelled"],
             budget=extra["budget"], seed=0, trial=0, round=1,
             out=work / f"queries_{extra['mode']}.csv")
    elif what == "query":
        from asal.stages.query import query

        # The simulated oracle's stage function: the CLI's `query` reads its classes from a
        # dataset, and this pool has none on disk (only its artifacts).
        query(queries=str(work / f"queries_{extra['mode']}.csv"), oracle_table=p["oracle"],
              merged=str(work / f"merged_{extra['mode']}.h5"), labelled=p["labelled"],
              classes=[f"class{k}" for k in range(19)], round=1,
              answers=str(work / f"answers_{extra['mode']}.csv"),
              labelled_out=str(work / f"labelled_out_{extra['mode']}.h5"))
    elif what == "generate":
        from asal.data.scale_pool import PoolShape, write_pool

        write_pool(PoolShape(n_images=extra["n_images"]), p)


def measure(what: str, work: Path, extra: dict, log) -> tuple[float, float]:
    """(wall seconds, peak RSS GiB) of one stage run in a fresh process."""
    cmd = [sys.executable, __file__, "--child", what, str(work), json.dumps(extra)]
    start = time.perf_counter()
    proc = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT)
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - start
    proc.returncode = os.waitstatus_to_exitcode(status)
    if proc.returncode != 0:
        raise SystemExit(f"{what} {extra} failed ({proc.returncode}); see {log.name}")
    return wall, usage.ru_maxrss / 2 ** 20  # KiB -> GiB


def main() -> None:
    if len(sys.argv) > 1 and sys.argv[1] == "--child":
        return child(sys.argv[2:])
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--scales", type=float, nargs="+", default=[1.0],
                    help="pool sizes as multiples of Cityscapes' 2975 images")
    ap.add_argument("--workdir", default="/tmp/asal-round-at-scale",
                    help="where the synthetic pools go (about 4 GB per scale 1)")
    ap.add_argument("--budget", type=int, default=100_000)
    ap.add_argument("--modes", nargs="+", default=["greedy", "components"])
    ap.add_argument("--keep", action="store_true", help="keep the pools afterwards")
    args = ap.parse_args()
    out = REPO / "benchmarks/results/round_at_scale.txt"
    lines = []

    def say(text=""):
        print(text, flush=True)
        lines.append(text)

    say(f"round at scale: merge, acquire, query; budget {args.budget}; "
        f"{os.cpu_count()} CPUs; {time.strftime('%Y-%m-%d %H:%M')}")
    say(f"{'scale':>5} {'images':>7} {'superpixels':>12} {'stage':<22} {'wall s':>8} "
        f"{'peak GiB':>9}")
    for scale in args.scales:
        n_images = round(2975 * scale)
        work = Path(args.workdir) / f"scale{scale:g}"
        work.mkdir(parents=True, exist_ok=True)
        with open(work / "stages.log", "w") as log:
            if not all((work / f"{k}.h5").exists() for k in FILES):
                t, mem = measure("generate", work, {"n_images": n_images}, log)
                say(f"{scale:>5g} {n_images:>7} {n_images * 8192:>12} "
                    f"{'(write the pool)':<22} {t:>8.1f} {mem:>9.2f}")
            for mode in args.modes:
                total = 0.0
                for what in ("merge", "acquire", "query"):
                    t, mem = measure(what, work, {"mode": mode, "budget": args.budget}, log)
                    total += t
                    note = ""
                    if what == "merge":
                        import h5py

                        with h5py.File(work / f"merged_{mode}.h5") as f:
                            note = f"  {int(f.attrs['n_regions'])} regions"
                    say(f"{scale:>5g} {n_images:>7} {n_images * 8192:>12} "
                        f"{what + ' (' + mode + ')':<22} {t:>8.1f} {mem:>9.2f}{note}")
                say(f"{scale:>5g} {n_images:>7} {n_images * 8192:>12} "
                    f"{'round (' + mode + ')':<22} {total:>8.1f}")
        if not args.keep:
            for f in work.iterdir():
                f.unlink()
            work.rmdir()
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text("\n".join(lines) + "\n")
    say(f"written to {out.relative_to(REPO)}")


if __name__ == "__main__":
    main()
