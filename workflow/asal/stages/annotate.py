"""Rule query with `oracle: human` (`asal annotate`): a person answers a round's queries in the browser; then answers.csv and
labelled.h5 are written by the same code as the simulated oracle's (`asal.store.answers.write_answers`),
with the provenance of each answer (who, when, seconds) as extra columns and attributes."""

from __future__ import annotations

import contextlib
import getpass
import logging
from pathlib import Path

import numpy as np

from ..annotate import server
from ..annotate.session import Round
from ..data.datasets import dataset_from
from ..experiment.methods import superpixel_kind
from ..store import artifacts, blocks
from ..store.answers import query_members, write_answers
from ..store.artifacts import ArtifactError
from ..store.round_tables import check_classes, open_labelled, open_regions
from .arguments import json_object

log = logging.getLogger(__name__)

JOURNAL_NAME = "answers.journal.jsonl"
HELP = "the human oracle: answer a round's queries on a page in the browser"


def add_arguments(p) -> None:
    p.add_argument("--config", nargs="+", default=None,
                   help="find every input from the experiment's config (config.yaml, then any "
                        "--configfile) with --method, --trial, --round; write into --out")
    p.add_argument("--method", default=None, help="with --config")
    p.add_argument("--trial", type=int, default=0, help="with --config")
    p.add_argument("--out", default=None, help="with --config: folder for answers.csv, "
                   "labelled.h5 and the journal")
    p.add_argument("--dataset", type=json_object, default=None,
                   help='JSON: {"name": ..., "root": ..., "resize": 1.0} (without --config)')
    for a in ("--superpixels", "--queries", "--answers", "--labelled-out"):
        p.add_argument(a, default=None, help="without --config")
    p.add_argument("--merged", default=None, help="the round's merged regions (none in round 0)")
    p.add_argument("--labelled", default=None, help="previous round's labelled set")
    p.add_argument("--round", type=int, required=True)
    p.add_argument("--journal", default=None, help="the answers journal; default: "
                   "answers.journal.jsonl beside --answers (keep it: it is how a killed "
                   "server resumes)")
    p.add_argument("--host", default="127.0.0.1", help="address to listen on; anything but "
                   "loopback needs a token (made and printed in the page's address)")
    p.add_argument("--port", type=int, default=8765, help="first port tried (0: any free)")
    p.add_argument("--token", default=None, help="require this token (default: a random one "
                   "off loopback, none on loopback)")
    p.add_argument("--annotator", default=None, help="who answers (default: the login name)")
    p.add_argument("--title", default=None, help="heading of the page")
    p.add_argument("--finish-when-done", action="store_true",
                   help="end as soon as the last query is answered, without the Finish button")


def main(args):
    if args.config:
        if not args.method or not args.out:
            raise SystemExit("error: asal annotate --config needs --method and --out")
        for key, value in inputs_from_config(args.config, args.method, args.trial, args.round,
                                             args.out).items():
            setattr(args, key, value)
    missing = [f"--{k.replace('_', '-')}" for k in ("dataset", "superpixels", "queries",
                                                    "answers", "labelled_out")
               if getattr(args, k) is None]
    if missing:
        raise SystemExit(f"error: asal annotate needs {', '.join(missing)} (or --config "
                         "with --method, --trial, --round and --out)")
    return annotate(dataset=args.dataset, superpixels=args.superpixels, queries=args.queries,
                    merged=args.merged, labelled=args.labelled, round=args.round,
                    answers=args.answers, labelled_out=args.labelled_out, journal=args.journal,
                    host=args.host, port=args.port, token=args.token, annotator=args.annotator,
                    title=args.title, finish_when_done=args.finish_when_done)


def journal_beside(answers_path: str) -> str:
    """Where a round's journal lives by default: next to its answers.csv."""
    return str(Path(answers_path).with_name(JOURNAL_NAME))


def inputs_from_config(config_paths: list[str], method: str, trial: int, round: int,
                       out_dir: str) -> dict:
    """The files `asal annotate` reads for (method, trial, round) of an experiment, as the
    workflow's query rule with oracle human passes them; the outputs go into `out_dir`."""
    from ..experiment.config import dataset_settings, load_config
    from ..experiment.inputs import DATASET, Inputs
    from ..store import layout

    config = load_config(config_paths)
    source = layout.source_method(method, round, superpixel_kind(config, method))
    files = Inputs(config).of("annotate", method=source, trial=trial, round=round)
    files.pop(DATASET, None)
    out = Path(out_dir)
    return {"merged": None, "labelled": None, **files, "dataset": dataset_settings(config),
            "answers": str(out / "answers.csv"), "labelled_out": str(out / "labelled.h5")}


def annotate(*, dataset: dict, superpixels: str, queries: str, merged: str | None,
             labelled: str | None, round: int, answers: str, labelled_out: str,
             journal: str | None = None, host: str = "127.0.0.1",
             port: int = server.DEFAULT_PORT, token: str | None = None,
             annotator: str | None = None, title: str | None = None,
             finish_when_done: bool = False, on_address=None,
             block_rows: int = blocks.DEFAULT_BLOCK_ROWS):
    """Serve the page until every query of the round is answered, then write the outputs
    (`labelled`: the previous round's labelled set)."""
    dataset_cfg, sp_path, queries_path, merged_path = dataset, superpixels, queries, merged
    prev_labelled_path, out_answers, out_labelled = labelled, answers, labelled_out
    journal_path = journal
    ds = dataset_from(dataset_cfg)
    annotator = annotator or getpass.getuser()
    journal_path = journal_path or journal_beside(out_answers)
    queries = artifacts.read_csv(queries_path)
    reps = queries["region"].to_numpy().astype(np.int64)
    with contextlib.ExitStack() as stack:
        sp = stack.enter_context(artifacts.open_superpixels(sp_path))
        m = sp.n_superpixels
        check_classes(ds, sp, sp_path)
        ds.check_files(sorted(set(queries["image_name"])))
        regions = stack.enter_context(open_regions(merged_path, m))
        prev, pattrs = stack.enter_context(open_labelled(prev_labelled_path, m))
        prev_clicks = int(pattrs["clicks_total"]) if pattrs is not None else 0
        # Before serving: refuse queries that would pay twice, as the simulated oracle does.
        member_ids, member_q, _ = query_members(queries_path, reps, regions, prev, m,
                                                        block_rows)
        rnd = stack.enter_context(contextlib.closing(
            Round(ds, sp_path, queries_path, merged_path, journal_path, annotator)))
        if rnd.state()["done"]:
            log.info("%s: every query already has an answer; writing them", journal_path)
        else:
            server.serve(rnd, host, port, token, title or f"round {round}",
                         finish_when_done, on_address)
        given = rnd.answers()
        entries = [given[int(q)] for q in queries["query"]]
        bad = [e for e in entries if not (isinstance(e.get("label"), int)
                                          and 0 <= e["label"] <= ds.n_classes)]
        if bad:  # only a journal edited by hand can hold these: the server validates
            raise ArtifactError(f"{journal_path}: answer {bad[0]} has no class id 0.."
                                f"{ds.n_classes}; fix or delete that line")
        seconds = [e.get("seconds") for e in entries]
        extra_columns = {"annotator": [e.get("annotator", annotator) for e in entries],
                         "answered_utc": [e.get("utc") for e in entries],
                         "seconds": [np.nan if s is None else float(s) for s in seconds]}
        total = float(np.nansum(np.array(extra_columns["seconds"], float))) if len(entries) \
            else 0.0
        answers = write_answers(
            queries, np.array([int(e["label"]) for e in entries], np.int64), member_ids,
            member_q, prev, prev_clicks, m, list(ds.classes), sp.attrs["superpixel_spec"], round,
            out_answers, out_labelled, block_rows, extra_columns=extra_columns,
            extra_attrs={"oracle": "human",
                         "annotators": sorted(set(extra_columns["annotator"])),
                         "round_seconds": total,
                         "seconds_total": total + float(pattrs.get("seconds_total", 0.0))
                         if pattrs is not None else total,
                         "journal": str(journal_path)})
    log.info("annotate: %d answers by %s in %.0f s of annotator time (%.1f s per answer)",
             len(answers), ", ".join(sorted(set(extra_columns["annotator"]))), total,
             total / max(len(answers), 1))
    return answers
