"""Command line: one subcommand per stage, so every rule can also be run by hand.

Stage settings come as a JSON object (`--spec`), the same object the Snakefile passes as the
rule's params; omitted keys take the defaults of the stage's spec class.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import shlex
import sys

from . import __version__


def _json(text: str) -> dict:
    try:
        value = json.loads(text)
    except json.JSONDecodeError as err:
        raise argparse.ArgumentTypeError(f"not valid JSON ({err}): {text!r}") from err
    if not isinstance(value, dict):
        raise argparse.ArgumentTypeError(f"expected a JSON object, got {text!r}")
    return value


def _spec(cls, values: dict):
    known = set(cls.__dataclass_fields__)
    unknown = set(values) - known
    if unknown:
        raise SystemExit(f"error: unknown {cls.__name__} keys {sorted(unknown)}; "
                         f"known: {sorted(known)}")
    return cls(**values)


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="asal", description=__doc__.splitlines()[0])
    p.add_argument("--version", action="version", version=f"asal {__version__}")
    sub = p.add_subparsers(dest="command", required=True)

    def stage(name, help_text, dataset=False, spec=False):
        s = sub.add_parser(name, help=help_text)
        if dataset:
            s.add_argument("--dataset", type=_json, required=True,
                           help='JSON: {"name": ..., "root": ..., "resize": 1.0}')
        if spec:
            s.add_argument("--spec", type=_json, default={}, help="JSON stage settings")
        return s

    s = stage("synthesize", "make the synthetic dataset", spec=True)
    s.add_argument("--out", required=True, help="dataset folder")
    s.add_argument("--seed", type=int, default=0)

    s = stage("superpixelize", "SEEDS or SLIC base superpixels of the pool", dataset=True, spec=True)
    s.add_argument("--out", required=True)
    s.add_argument("--shard", type=int, default=0, help="this job's block of pool images")
    s.add_argument("--shards", type=int, default=1, help="number of blocks")

    s = stage("gather", "join the shards of an image-wise stage into one file")
    s.add_argument("--stage", required=True, choices=["superpixelize", "predict", "features"])
    s.add_argument("--shard-files", nargs="+", required=True)
    s.add_argument("--out", required=True)

    s = stage("superpixelize-oracle", "ground-truth connected components as superpixels",
              dataset=True)
    s.add_argument("--out", required=True)

    s = stage("oracle-table", "ground-truth histogram per base superpixel", dataset=True)
    s.add_argument("--superpixels", required=True)
    s.add_argument("--out", required=True)
    s.add_argument("--allow-absent-classes", action="store_true",
                   help="accept a pool whose labels lack a declared class "
                        "(dataset.allow_absent_classes)")

    s = stage("check-dataset", "print what asal reads from the dataset and check it")
    s.add_argument("--config", nargs="+", default=["config.yaml"],
                   help="the experiment's config: config.yaml, then any file given to "
                        "snakemake --configfile (merged in that order)")

    s = stage("draw-warmup", "round 0: random base superpixels")
    for a in ("--superpixels", "--out"):
        s.add_argument(a, required=True)
    s.add_argument("--budget", type=int, required=True)
    s.add_argument("--seed", type=int, required=True)
    s.add_argument("--trial", type=int, required=True)

    s = stage("features", "a frozen ImageNet encoder's features of every image, once",
              dataset=True)
    s.add_argument("--encoder", required=True, help="efficientnet_lite0, 1 or 2")
    s.add_argument("--out", required=True)
    s.add_argument("--shard", type=int, default=0, help="this job's block of images")
    s.add_argument("--shards", type=int, default=1)
    s.add_argument("--device", default="auto")
    s.add_argument("--threads", type=int, default=0)

    s = stage("predict", "per-superpixel statistics of a model's prediction", dataset=True)
    for a in ("--superpixels", "--model", "--out"):
        s.add_argument(a, required=True)
    s.add_argument("--features", default=None, help="cached features (model feature_head)")
    s.add_argument("--shard", type=int, default=0)
    s.add_argument("--shards", type=int, default=1)
    s.add_argument("--device", default="auto")
    s.add_argument("--threads", type=int, default=0)

    s = stage("merge", "adaptive merging of base superpixels", spec=True)
    for a in ("--superpixels", "--stats", "--out"):
        s.add_argument(a, required=True)
    s.add_argument("--labelled", default=None)

    s = stage("acquire", "score regions and pick the top B", spec=True)
    for a in ("--superpixels", "--stats", "--out"):
        s.add_argument(a, required=True)
    s.add_argument("--merged", default=None)
    s.add_argument("--labelled", default=None)
    for a in ("--budget", "--seed", "--trial", "--round"):
        s.add_argument(a, type=int, required=True)

    s = stage("query", "the oracle: dominant label of each query", dataset=True)
    for a in ("--queries", "--oracle-table", "--answers", "--labelled-out"):
        s.add_argument(a, required=True)
    s.add_argument("--merged", default=None)
    s.add_argument("--labelled", default=None, help="previous round's labelled set")
    s.add_argument("--round", type=int, required=True)

    s = stage("annotate", "the human oracle: answer a round's queries on a page in the browser")
    s.add_argument("--config", nargs="+", default=None,
                   help="find every input from the experiment's config (config.yaml, then any "
                        "--configfile) with --method, --trial, --round; write into --out")
    s.add_argument("--method", default=None, help="with --config")
    s.add_argument("--trial", type=int, default=0, help="with --config")
    s.add_argument("--out", default=None, help="with --config: folder for answers.csv, "
                   "labelled.h5 and the journal")
    s.add_argument("--dataset", type=_json, default=None,
                   help='JSON: {"name": ..., "root": ..., "resize": 1.0} (without --config)')
    for a in ("--superpixels", "--queries", "--answers", "--labelled-out"):
        s.add_argument(a, default=None, help="without --config")
    s.add_argument("--merged", default=None, help="the round's merged regions (none in round 0)")
    s.add_argument("--labelled", default=None, help="previous round's labelled set")
    s.add_argument("--round", type=int, required=True)
    s.add_argument("--journal", default=None, help="the answers journal; default: "
                   "answers.journal.jsonl beside --answers (keep it: it is how a killed "
                   "server resumes)")
    s.add_argument("--host", default="127.0.0.1", help="address to listen on; anything but "
                   "loopback needs a token (made and printed in the page's address)")
    s.add_argument("--port", type=int, default=8765, help="first port tried (0: any free)")
    s.add_argument("--token", default=None, help="require this token (default: a random one "
                   "off loopback, none on loopback)")
    s.add_argument("--annotator", default=None, help="who answers (default: the login name)")
    s.add_argument("--title", default=None, help="heading of the page")
    s.add_argument("--finish-when-done", action="store_true",
                   help="end as soon as the last query is answered, without the Finish button")

    s = stage("sieve", "drop doubtful labelled pixels (Kneedle)", dataset=True, spec=True)
    for a in ("--superpixels", "--labelled", "--out"):
        s.add_argument(a, required=True)
    s.add_argument("--model", default=None, help="theta_{t-1}; none in round 0")
    s.add_argument("--previous", default=None, help="previous round's sieved labels")
    s.add_argument("--features", default=None, help="cached features (model feature_head)")
    s.add_argument("--round", type=int, required=True)
    s.add_argument("--device", default="auto")
    s.add_argument("--threads", type=int, default=0)

    s = stage("train", "train theta_t on the sieved labels", dataset=True, spec=True)
    for a in ("--out", "--log-out"):
        s.add_argument(a, required=True)
    s.add_argument("--superpixels", default=None)
    s.add_argument("--sieved", default=None)
    s.add_argument("--full", action="store_true",
                   help="every pool pixel's ground truth instead of --sieved (method Full)")
    s.add_argument("--features", default=None, help="cached features (model feature_head)")
    s.add_argument("--init", default=None, help="checkpoint to continue from (init: previous)")
    for a in ("--seed", "--trial", "--round"):
        s.add_argument(a, type=int, required=True)

    s = stage("evaluate", "mIoU on the evaluation split", dataset=True)
    for a in ("--model", "--out", "--method"):
        s.add_argument(a, required=True)
    s.add_argument("--labelled", default=None, help="clicks so far; none for method Full")
    s.add_argument("--features", default=None, help="cached features (model feature_head)")
    s.add_argument("--oracle-table", default=None, help="with --superpixels: diagnostics")
    s.add_argument("--merged", default=None, help="this round's merged regions")
    s.add_argument("--prev-stats", default=None, help="theta_{t-1}'s statistics")
    s.add_argument("--superpixels", default=None, help="with --sieved: label quality figures")
    s.add_argument("--sieved", default=None)
    s.add_argument("--answers", default=None, help="this round's answers: query figures")
    s.add_argument("--without-labels", action="store_true",
                   help="human oracle: skip, saying so, what needs labels that are absent")
    s.add_argument("--trial", type=int, required=True)
    s.add_argument("--round", type=int, default=None, help="none for method Full")
    s.add_argument("--device", default="auto")
    s.add_argument("--threads", type=int, default=0)

    s = stage("draw", "pictures of one method, trial, round and image")
    s.add_argument("--config", nargs="+", default=["config.yaml"],
                   help="the experiment's config: config.yaml, then any file given to "
                        "snakemake --configfile (merged in that order)")
    s.add_argument("--settings", type=_json, default=None,
                   help="JSON of asal.drawing.draw_settings (what the workflow passes), "
                        "instead of --config")
    s.add_argument("--method", required=True)
    s.add_argument("--trial", type=int, default=0)
    s.add_argument("--round", type=int, required=True)
    s.add_argument("--image", default=None, help="pool image name; default: the image with "
                   "most of the round's queries")
    s.add_argument("--out", required=True, help="folder for the PNG files")

    s = stage("show", "print a readable summary of any artifact file")
    s.add_argument("file")
    s.add_argument("--rows", type=int, default=5)

    s = stage("report", "table and plot over methods, trials and rounds")
    s.add_argument("--metrics", nargs="+", required=True)
    s.add_argument("--table", required=True)
    s.add_argument("--plot", required=True)
    s.add_argument("--title", default="")
    s.add_argument("--rounds", default=None, help="HTML per-round table")
    s.add_argument("--rounds-csv", default=None, help="the same table as CSV")
    s.add_argument("--baseline", default=None, help="method the others are paired with")
    s.add_argument("--paired", default=None, help="CSV of paired differences to --baseline")
    s.add_argument("--purity", default=None, help="PNG: query purity against size")
    s.add_argument("--warmup-of", type=_json, default=None,
                   help='JSON {method: its warm-up pseudo-method}; default "warmup" for all')
    return p


def run(args: argparse.Namespace) -> None:
    from . import stages
    from .method.acquisition import AcquireSpec
    from .method.merging import MergeSpec
    from .method.superpixels import SeedsSpec

    c = args.command
    if c == "synthesize":
        from .data import synthetic

        spec = {"n_pool": 24, "n_val": 8, "height": 96, "width": 128, **args.spec}
        synthetic.generate(args.out, spec["n_pool"], spec["n_val"], spec["height"],
                           spec["width"], args.seed)
    elif c == "superpixelize":
        stages.superpixelize(args.dataset, _spec(SeedsSpec, args.spec), args.out, args.shard,
                             args.shards)
    elif c == "gather":
        if args.stage == "superpixelize":
            stages.gather_superpixels(args.shard_files, args.out)
        else:
            stages.gather_table(args.shard_files, args.stage, args.out)
    elif c == "superpixelize-oracle":
        stages.superpixelize_oracle(args.dataset, args.out)
    elif c == "oracle-table":
        stages.oracle_table(args.dataset, args.superpixels, args.out,
                            args.allow_absent_classes)
    elif c == "check-dataset":
        from .data.dataset_check import check_dataset
        from .experiment.config import dataset_settings, load_config

        config = load_config(args.config)
        settings = dataset_settings(config)
        if settings["name"] == "synthetic" and not os.path.isdir(settings["root"]):
            raise FileNotFoundError(f"{settings['root']}: the synthetic dataset is made by the "
                                    "workflow; run snakemake first (rule synthesize)")
        text, ok = check_dataset(stages.dataset_from(settings),
                                 bool(config["dataset"].get("allow_absent_classes", False)))
        print(text)
        if not ok:
            sys.exit(1)
    elif c == "draw-warmup":
        stages.draw_warmup(args.superpixels, args.budget, args.seed, args.trial, args.out)
    elif c == "predict":
        stages.predict(args.dataset, args.superpixels, args.model, args.out, args.device,
                       args.threads, shard=args.shard, n_shards=args.shards,
                       features_path=args.features)
    elif c == "features":
        from .features import compute_features

        compute_features(args.dataset, args.encoder, args.out, args.shard, args.shards,
                         args.device, args.threads)
    elif c == "merge":
        stages.merge(args.superpixels, args.stats, args.labelled, _spec(MergeSpec, args.spec),
                     args.out)
    elif c == "acquire":
        stages.acquire(args.superpixels, args.stats, args.merged, args.labelled,
                       _spec(AcquireSpec, args.spec), args.budget, args.seed, args.trial,
                       args.round, args.out)
    elif c == "query":
        ds = stages.dataset_from(args.dataset)
        stages.query(args.queries, args.oracle_table, args.merged, args.labelled,
                     list(ds.classes), args.round, args.answers, args.labelled_out)
    elif c == "annotate":
        from .annotate.stage import annotate, inputs_from_config

        if args.config:
            if not args.method or not args.out:
                raise SystemExit("error: asal annotate --config needs --method and --out")
            for key, value in inputs_from_config(args.config, args.method, args.trial,
                                                 args.round, args.out).items():
                setattr(args, key, value)
        missing = [f"--{k.replace('_', '-')}" for k in ("dataset", "superpixels", "queries",
                                                        "answers", "labelled_out")
                   if getattr(args, k) is None]
        if missing:
            raise SystemExit(f"error: asal annotate needs {', '.join(missing)} (or --config "
                             "with --method, --trial, --round and --out)")
        annotate(args.dataset, args.superpixels, args.queries, args.merged, args.labelled,
                 args.round, args.answers, args.labelled_out, args.journal, args.host,
                 args.port, args.token, args.annotator, args.title, args.finish_when_done)
    elif c == "sieve":
        from .method.sieving import SieveSpec

        stages.sieve(args.dataset, args.superpixels, args.labelled, args.model, args.previous,
                     _spec(SieveSpec, args.spec), args.round, args.out, args.device,
                     args.threads, features_path=args.features)
    elif c == "train":
        from .learning.training import TrainSpec

        if not args.full and (args.sieved is None or args.superpixels is None):
            raise SystemExit("asal train: error: give --sieved and --superpixels, or --full")
        stages.train_stage(args.dataset, args.superpixels, args.sieved,
                           _spec(TrainSpec, args.spec), args.seed, args.trial, args.round,
                           args.init, args.out, args.log_out, args.features, args.full)
    elif c == "evaluate":
        meta = {"method": args.method, "trial": args.trial, "round": args.round}
        stages.evaluate(args.dataset, args.model, args.labelled, meta, args.out, args.device,
                        args.threads, args.superpixels, args.sieved, args.answers,
                        args.features, args.oracle_table, args.merged, args.prev_stats,
                        args.without_labels)
    elif c == "draw":
        from .drawing import draw

        for path in draw(args.settings or args.config, args.method, args.trial, args.round,
                         args.image, args.out):
            print(path)
    elif c == "show":
        from .reporting.summary import describe

        print(describe(args.file, args.rows))
    elif c == "report":
        from .reporting.report import report

        report(args.metrics, args.table, args.plot, args.title, args.warmup_of, args.rounds,
               args.rounds_csv, args.baseline or None, args.paired, args.purity)


def main(argv: list[str] | None = None) -> None:
    args = build_parser().parse_args(argv)
    logging.basicConfig(level=logging.INFO, stream=sys.stderr,
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
                        datefmt="%H:%M:%S")
    # The exact command, quoted so it can be pasted back into a shell to rerun the stage.
    logging.getLogger("asal").info("asal %s %s", __version__, shlex.join(sys.argv[1:]))
    try:
        run(args)
    except (ValueError, RuntimeError, FileNotFoundError, OSError) as err:
        logging.getLogger("asal").error("%s", err)
        sys.exit(f"asal {args.command}: error: {err}")
