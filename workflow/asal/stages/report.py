"""Rule report: the benchmark's table, plots and paired differences over methods, trials and
rounds (the computing is in asal.reporting.report)."""

from __future__ import annotations

from .arguments import json_object

HELP = "table and plot over methods, trials and rounds"


def add_arguments(p) -> None:
    p.add_argument("--metrics", nargs="+", required=True)
    p.add_argument("--table", required=True)
    p.add_argument("--plot", required=True)
    p.add_argument("--title", default="")
    p.add_argument("--rounds", default=None, help="HTML per-round table")
    p.add_argument("--rounds-csv", default=None, help="the same table as CSV")
    p.add_argument("--baseline", default=None, help="method the others are paired with")
    p.add_argument("--paired", default=None, help="CSV of paired differences to --baseline")
    p.add_argument("--purity", default=None, help="PNG: query purity against size")
    p.add_argument("--warmup-of", type=json_object, default=None,
                   help='JSON {method: its warm-up pseudo-method}; default "warmup" for all')


def main(args) -> None:
    from ..reporting.report import report

    report(metric_paths=args.metrics, out_table=args.table, out_plot=args.plot,
           title=args.title, warmup_of=args.warmup_of, out_rounds=args.rounds,
           out_rounds_csv=args.rounds_csv, baseline=args.baseline or None,
           out_paired=args.paired, out_purity=args.purity)
