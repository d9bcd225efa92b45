"""`asal annotate`: a person answers a round's queries in the browser; then answers.csv and
labelled.h5 are written by the same code as the simulated oracle's (`stages.write_answers`),
with the provenance of each answer (who, when, seconds) as extra columns and attributes."""

from __future__ import annotations

import contextlib
import getpass
import json
import logging
from pathlib import Path

import numpy as np

from ..store import artifacts, blocks
from .. import stages
from ..store.artifacts import ArtifactError
from . import server
from .session import Round

log = logging.getLogger(__name__)

JOURNAL_NAME = "answers.journal.jsonl"


def journal_beside(answers_path: str) -> str:
    """Where a round's journal lives by default: next to its answers.csv."""
    return str(Path(answers_path).with_name(JOURNAL_NAME))


def inputs_from_config(config_paths: list[str], method: str, trial: int, round: int,
                       out_dir: str) -> dict:
    """The files `asal annotate` reads for (method, trial, round) of an experiment, as the
    workflow's query rule would pass them; the outputs go into `out_dir`."""
    from ..store import layout
    from ..experiment.config import dataset_settings, load_config
    from ..experiment.methods import superpixel_kind

    config = load_config(config_paths)
    exp, kind = config["experiment"], superpixel_kind(config, method)
    source = layout.source_method(method, round, kind)
    merged = layout.round_path("merged", exp, source, trial, round) if round > 0 else None
    labelled = (layout.round_path("labelled", exp, layout.source_method(method, round - 1, kind),
                                  trial, round - 1) if round > 0 else None)
    out = Path(out_dir)
    return {"dataset": dataset_settings(config),
            "superpixels": layout.fill(layout.SUPERPIXELS, experiment=exp, spx=kind),
            "queries": str(layout.round_path("queries", exp, source, trial, round)),
            "merged": merged and str(merged), "labelled": labelled and str(labelled),
            "answers": str(out / "answers.csv"), "labelled_out": str(out / "labelled.h5")}


def annotate(dataset_cfg: dict, sp_path: str, queries_path: str, merged_path: str | None,
             prev_labelled_path: str | None, round: int, out_answers: str, out_labelled: str,
             journal_path: str | None = None, host: str = "127.0.0.1",
             port: int = server.DEFAULT_PORT, token: str | None = None,
             annotator: str | None = None, title: str | None = None,
             finish_when_done: bool = False, on_address=None,
             block_rows: int = blocks.DEFAULT_BLOCK_ROWS):
    """Serve the page until every query of the round is answered, then write the outputs."""
    ds = stages.dataset_from(dataset_cfg)
    annotator = annotator or getpass.getuser()
    journal_path = journal_path or journal_beside(out_answers)
    queries = artifacts.read_csv(queries_path)
    reps = queries["region"].to_numpy().astype(np.int64)
    with contextlib.ExitStack() as stack:
        sp = stack.enter_context(artifacts.open_superpixels(sp_path))
        m = sp.n_superpixels
        classes = sp.attrs.get("classes")
        if classes is not None and json.loads(classes) != list(ds.classes):
            raise ArtifactError(f"{sp_path}: made under classes {classes}, the dataset has "
                                f"{list(ds.classes)}; rerun superpixelize")
        ds.check_files(sorted(set(queries["image_name"])))
        regions = stack.enter_context(stages._open_regions(merged_path, m))
        prev, pattrs = stack.enter_context(stages._open_labelled(prev_labelled_path, m))
        prev_clicks = int(pattrs["clicks_total"]) if pattrs is not None else 0
        # Before serving: refuse queries that would pay twice, as the simulated oracle does.
        member_ids, member_q, _ = stages.query_members(queries_path, reps, regions, prev, m,
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
        answers = stages.write_answers(
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
