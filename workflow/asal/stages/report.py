"""Rule report: the benchmark's table, plots, paired differences and the page a reader opens,
led by the experiment's figure (the computing is in asal.reporting)."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from .arguments import json_object

HELP = "table, plots and the report page over methods, trials and rounds"

BLOCK_ROWS = 1 << 20  # oracle-table rows summed at a time (a Cityscapes table is 2 GB)


def add_arguments(p) -> None:
    from ..reporting.experiments import FIGURES

    p.add_argument("--metrics", nargs="+", required=True)
    p.add_argument("--table", required=True)
    p.add_argument("--plot", required=True)
    p.add_argument("--title", default="")
    p.add_argument("--rounds", default=None, help="HTML: the report page")
    p.add_argument("--rounds-csv", default=None, help="the per-round table as CSV")
    p.add_argument("--baseline", default=None, help="method the others are paired with")
    p.add_argument("--paired", default=None, help="CSV of paired differences to --baseline")
    p.add_argument("--purity", default=None, help="PNG: query purity against size")
    p.add_argument("--warmup-of", type=json_object, default=None,
                   help='JSON {method: its warm-up pseudo-method}; default "warmup" for all')
    p.add_argument("--figure", choices=FIGURES, default="clicks",
                   help="the figure the page leads with (report.figure)")
    p.add_argument("--figure-out", default=None, help="PNG of that figure")
    p.add_argument("--methods-info", type=json_object, default=None,
                   help="JSON {method: {base, size, kind, label, paper}}")
    p.add_argument("--superpixels", nargs="*", default=[],
                   help="base superpixel files: each kind's achieved mean size")
    p.add_argument("--oracle-table", default=None,
                   help="ground-truth histograms: each class's share of the pool's pixels")
    p.add_argument("--what-ran", default="", help="a sentence on the experiment's settings")
    p.add_argument("--dataset-check", default=None,
                   help="the dataset check's labels summary: pixels per class and split, for "
                        "the majority-class baseline")
    p.add_argument("--second-baseline", default=None,
                   help="a second method each is paired with in the rows and verdicts")


def main(args) -> None:
    from ..reporting.report import report
    from ..store.artifacts import read_json

    info = {m: dict(v) for m, v in (args.methods_info or {}).items()}
    areas = superpixel_areas(args.superpixels)
    for entry in info.values():
        entry["area"] = areas.get(entry.get("kind"))
    report(metric_paths=args.metrics, out_table=args.table, out_plot=args.plot,
           title=args.title, warmup_of=args.warmup_of, out_rounds=args.rounds,
           out_rounds_csv=args.rounds_csv, baseline=args.baseline or None,
           out_paired=args.paired, out_purity=args.purity, figure=args.figure, info=info, out_figure=args.figure_out,
           class_share=class_share(args.oracle_table) if args.oracle_table else None,
           what_ran=args.what_ran, second_baseline=args.second_baseline or None,
           dataset_check=read_json(args.dataset_check) if args.dataset_check else None)


def superpixel_areas(paths: list[str]) -> dict[str, float]:
    """Achieved mean superpixel area of each kind (the file's name: seeds, seeds@16px, ...)."""
    from ..store import artifacts

    return {Path(p).stem: float(artifacts.read_attrs(p)["achieved_mean_size"])
            for p in paths if "achieved_mean_size" in artifacts.read_attrs(p)}


def class_share(oracle_path: str) -> dict[str, float]:
    """Each class's share of the pool's pixels (void included in the total), from the oracle
    table, summed a block of rows at a time."""
    import json

    from ..store import artifacts

    with artifacts.open_h5(oracle_path, "oracle_table") as f:
        hist = f["gt_hist"]
        total = np.zeros(hist.shape[1], np.int64)
        for start in range(0, hist.shape[0], BLOCK_ROWS):
            total += hist[start:start + BLOCK_ROWS].sum(axis=0, dtype=np.int64)
        classes = json.loads(f.attrs["classes"])
    return {c: float(total[k]) / max(float(total.sum()), 1.0) for k, c in enumerate(classes)}
