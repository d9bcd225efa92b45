"""Rule query with `oracle: human` (`asal annotate`): a person answers a round's queries in the browser; then answers.csv and
labelled.h5 are written by the same code as the simulated oracle's (`asal.store.answers.write_answers`),
with the provenance of each answer (who, when, seconds) as extra columns and attributes."""

from __future__ import annotations

import contextlib
import getpass
import logging
import os
import sys
from pathlib import Path

import numpy as np

from ..annotate import server
from ..annotate.session import Round, labels_of
from ..data.datasets import dataset_from
from ..experiment.methods import superpixel_kind
from ..method.answers import AnswerSpec, bit
from ..store import artifacts, blocks
from ..store.answers import query_members, write_answers
from ..store.artifacts import ArtifactError
from ..store.round_tables import check_classes, open_labelled, open_regions
from .arguments import add_spec, json_object

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
    p.add_argument("--host", default=None, help="address to listen on (default: the "
                   "config's annotate.host with --config, else 127.0.0.1); anything but "
                   "loopback needs a token (made and printed in the page's address)")
    p.add_argument("--port", type=int, default=None, help="first port tried, the next free one "
                   f"taken (default: annotate.port with --config, else {server.DEFAULT_PORT}; "
                   "0: any free)")
    p.add_argument("--token", default=None, help="require this token (default: a random one "
                   "off loopback, none on loopback)")
    p.add_argument("--annotator", default=None, help="who answers (default: annotate.annotator "
                   "with --config, else the login name)")
    p.add_argument("--title", default=None, help="heading of the page, and the name of the "
                   "round beside its address in the terminal and the log (default: experiment, "
                   "method, trial and round with --config)")
    add_spec(p, AnswerSpec)
    p.add_argument("--budget", type=int, default=None,
                   help="the round's clicks: a multi-class round (answer.type multiclass) ends "
                        "when they are spent (default: every query)")
    p.add_argument("--finish-when-done", action="store_true", default=None,
                   help="end as soon as the last query is answered, without the Finish button "
                   "(default: annotate.finish_when_done with --config)")


PAGE_DEFAULTS = {"host": "127.0.0.1", "port": server.DEFAULT_PORT, "annotator": None,
                 "finish_when_done": False, "title": None}
# What --config also gives the page: the method's answer settings and the round's clicks.
ROUND_DEFAULTS = {"spec": AnswerSpec(), "budget": None}


def main(args):
    settings = {**PAGE_DEFAULTS, **ROUND_DEFAULTS}
    if args.config:
        if not args.method or not args.out:
            raise SystemExit("error: asal annotate --config needs --method and --out")
        inputs, page = from_config(args.config, args.method, args.trial, args.round, args.out)
        for key, value in inputs.items():
            setattr(args, key, value)
        settings.update(page)
    for key in PAGE_DEFAULTS:  # the command line over the config over the defaults
        if getattr(args, key) is not None:
            settings[key] = getattr(args, key)
    missing = [f"--{k.replace('_', '-')}" for k in ("dataset", "superpixels", "queries",
                                                    "answers", "labelled_out")
               if getattr(args, k) is None]
    if missing:
        raise SystemExit(f"error: asal annotate needs {', '.join(missing)} (or --config "
                         "with --method, --trial, --round and --out)")
    return annotate(dataset=args.dataset, superpixels=args.superpixels, queries=args.queries,
                    merged=args.merged, labelled=args.labelled, round=args.round,
                    answers=args.answers, labelled_out=args.labelled_out, journal=args.journal,
                    host=settings["host"], port=settings["port"], token=args.token,
                    annotator=settings["annotator"], title=settings["title"],
                    finish_when_done=settings["finish_when_done"],
                    spec=args.spec if args.spec is not None else settings["spec"],
                    budget=args.budget if args.budget is not None else settings["budget"])


def journal_beside(answers_path: str) -> str:
    """Where a round's journal lives by default: next to its answers.csv."""
    return str(Path(answers_path).with_name(JOURNAL_NAME))


def from_config(config_paths: list[str], method: str, trial: int, round: int,
                out_dir: str) -> tuple[dict, dict]:
    """The files `asal annotate` reads for (method, trial, round) of an experiment, as the
    workflow's query rule would pass them, the outputs in `out_dir`; and the page's settings
    from the config's `annotate:` section (host, port, annotator, finish_when_done) with the
    rule's title."""
    from ..experiment.config import load_config

    from ..experiment.methods import stage_settings

    config = load_config(config_paths)
    page = {k: v for k, v in (config.get("annotate") or {}).items() if k in PAGE_DEFAULTS}
    page["title"] = f"{config['experiment']}: {method}, trial {trial}, round {round}"
    page["spec"] = AnswerSpec(**stage_settings(config, method, "answer"))
    page["budget"] = (config["warmup_budget"] or config["budget"]) if round == 0 \
        else config["budget"]
    return inputs_from_config(config, method, trial, round, out_dir), page


def history_beside(journal_path: str) -> Path:
    """The round's own log, kept across restarts: answers.journal.log beside the journal."""
    return Path(journal_path).with_suffix(".log")


@contextlib.contextmanager
def session_history(path: Path):
    """Append this session's log lines to `path`, after showing the earlier sessions' lines.

    Snakemake deletes a job's log before it runs the job again, so the query log of a round
    served, killed and served again would only tell the last session; this file is not the
    rule's log and grows with every session, and each new session repeats it on the terminal
    (and so in the rule's log)."""
    if path.exists() and path.stat().st_size:
        print(f"  asal: earlier sessions of this round ({path}):\n"
              + "".join(f"    {line}\n" for line in
                        path.read_text(encoding="utf-8", errors="replace").splitlines()),
              file=sys.stderr, flush=True)
    handler = logging.FileHandler(path, mode="a", encoding="utf-8")
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s",
                                           "%Y-%m-%d %H:%M:%S"))
    logger = logging.getLogger("asal")
    logger.addHandler(handler)
    try:
        yield
    finally:
        logger.removeHandler(handler)
        handler.close()


def inputs_from_config(config: dict, method: str, trial: int, round: int,
                       out_dir: str) -> dict:
    """The files `asal annotate` reads for (method, trial, round) of an experiment (a loaded
    config), as the workflow's query rule would pass them; the outputs go into `out_dir`."""
    from ..experiment.config import dataset_settings
    from ..experiment.inputs import DATASET, Inputs
    from ..store import layout

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
             block_rows: int = blocks.DEFAULT_BLOCK_ROWS, spec: AnswerSpec = AnswerSpec(),
             budget: int | None = None):
    """Serve the page until every query of the round is answered, then write the outputs
    (`labelled`: the previous round's labelled set). With a multi-class answer type
    (`spec`), a person may name several classes per region, and the round ends when its
    `budget` clicks are spent."""
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
            Round(ds, sp_path, queries_path, merged_path, journal_path, annotator,
                  several=spec.several, budget=budget if spec.several else None,
                  extra_class_cost=spec.extra_class_cost)))
        # Only now, holding the journal's lock: a refused second server writes no history.
        stack.enter_context(session_history(history_beside(journal_path)))
        log.info("annotate: session of %s (pid %d) on %s", annotator, os.getpid(), queries_path)
        if rnd.state()["done"]:
            log.info("%s: every query already has an answer; writing them", journal_path)
        else:
            server.serve(rnd, host, port, token,
                         title or f"round {round} of {Path(queries_path).parent}",
                         finish_when_done, on_address)
        given = rnd.answers()
        # The queries asked, in order: all, or those answered before the clicks ran out.
        asked = queries["query"].isin(list(given)).to_numpy()
        if not asked.all():
            queries, reps = queries[asked].reset_index(drop=True), reps[asked]
            member_ids, member_q, _ = query_members(queries_path, reps, regions, prev, m,
                                                    block_rows)
        entries = [given[int(q)] for q in queries["query"]]
        bad = [e for e in entries if not all(isinstance(x, int) and 0 <= x <= ds.n_classes
                                             for x in labels_of(e))]
        if bad:  # only a journal edited by hand can hold these: the server validates
            raise ArtifactError(f"{journal_path}: answer {bad[0]} has no class id 0.."
                                f"{ds.n_classes}; fix or delete that line")
        seconds = [e.get("seconds") for e in entries]
        extra_columns = {"annotator": [e.get("annotator", annotator) for e in entries],
                         "answered_utc": [e.get("utc") for e in entries],
                         "seconds": [np.nan if s is None else float(s) for s in seconds]}
        total = float(np.nansum(np.array(extra_columns["seconds"], float))) if len(entries) \
            else 0.0
        sets = np.array([int(bit(labels_of(e)).sum()) for e in entries], np.int64)
        several = spec.several or prev.has("label_set")
        answers = write_answers(
            queries, np.array([int(e["label"]) for e in entries], np.int64), member_ids,
            member_q, prev, prev_clicks, m, list(ds.classes), sp.attrs["superpixel_spec"], round,
            out_answers, out_labelled, block_rows, extra_columns=extra_columns,
            label_set=sets if several else None,
            clicks=np.array([rnd.cost(e) for e in entries], np.int64),
            prev_answers=int(pattrs.get("answers_total", prev_clicks)) if pattrs is not None
            else 0,
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
