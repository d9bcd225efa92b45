"""Rule draw (`asal draw`): the pictures of one method, trial and round, from the files its
rule declares and passes (`--config` finds the same files from the experiment's config, as
the rule does), so a picture follows its artifacts and no later round's.

Evaluation side: it may read ground truth (to show it, and to count the oracle's answers for
the class-balance figure); nothing it computes goes back into the pipeline.
"""

from __future__ import annotations

import contextlib
import json
import logging
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from ..data.datasets import dataset_from
from ..experiment.seeds_and_shards import acquire_tie_seed
from ..experiment.settings import defaults
from ..method import acquisition, statistics
from ..reporting import pictures
from ..store import artifacts
from .arguments import add_dataset, add_features, add_inputs, add_spec, run_stage

log = logging.getLogger(__name__)

HELP = "pictures of one method, trial and round"
_DEFAULTS = defaults("draw")
# What a job of the draw rule needs beyond its inputs (the rest only with --config).
REQUIRED = ("dataset", "superpixels", "answers", "labelled", "sieved", "model")


@dataclass(frozen=True)
class DrawSpec:
    """Picture settings (config `draw`; defaults from the schema)."""

    image: str | None = _DEFAULTS["image"]  # None: the image holding most of the queries


def add_arguments(p) -> None:
    p.add_argument("--config", nargs="+", default=None,
                   help="find every input as the workflow's draw rule does, from the "
                        "experiment's config (config.yaml, then any --configfile)")
    add_dataset(p, required=False)
    add_spec(p, DrawSpec)
    add_inputs(p, "--superpixels", "--answers", "--labelled", "--sieved", "--model",
               required=False)
    add_inputs(p, "--merged", required=False, many=True)
    for name, what in [("--stats", "theta_{t-1}'s statistics"),
                       ("--previous-labelled", "the labelled set before the round"),
                       ("--oracle-table", "ground-truth histograms")]:
        p.add_argument(name, default=None, help=f"{what}: the class-balance figure")
    add_features(p)
    p.add_argument("--method", required=True)
    p.add_argument("--trial", type=int, default=0)
    p.add_argument("--round", type=int, required=True)
    p.add_argument("--seed", type=int, default=None,
                   help="the experiment's seed (acquisition's tie-breaks)")
    p.add_argument("--out", required=True, help="folder for the PNG files")


def main(args) -> list:
    if args.config:
        for key, value in inputs_from_config(args.config, args.method, args.trial,
                                             args.round).items():
            if getattr(args, key) in (None, []):
                setattr(args, key, value)
    del args.config
    missing = [f"--{k}" for k in REQUIRED if getattr(args, k) is None]
    if missing:
        raise SystemExit(f"error: asal draw needs {', '.join(missing)} (or --config)")
    paths = run_stage(draw, args)
    for path in paths:
        print(path)
    return paths


def inputs_from_config(config_paths: list[str], method: str, trial: int, round: int) -> dict:
    """What the draw rule passes for (method, trial, round) of an experiment."""
    from ..experiment.config import dataset_settings, load_config
    from ..experiment.inputs import DATASET, Inputs
    from ..experiment.methods import superpixel_kind
    from ..store import layout

    config = load_config(config_paths)
    source = layout.source_method(method, round, superpixel_kind(config, method))
    files = Inputs(config).of("draw", method=source, trial=trial, round=round)
    files.pop(DATASET)
    files["features"] = (files["features"] or [None])[0]
    return {**files, "dataset": dataset_settings(config), "spec": DrawSpec(**config["draw"]),
            "seed": config["seed"]}


def _write_png(path: Path, rgb: np.ndarray) -> None:
    artifacts.write_png(path, rgb)


def default_image(answers) -> str:
    """The image holding most of the round's queries: the most to look at."""
    return str(answers["image_name"].value_counts().idxmax())


def draw(*, dataset: dict, superpixels: str, answers: str, labelled: str, sieved: str,
         model: str, merged: list[str], method: str, trial: int, round: int, out: str,
         spec: DrawSpec, features: str | None = None, stats: str | None = None,
         previous_labelled: str | None = None, oracle_table: str | None = None,
         seed: int | None = None) -> list[Path]:
    """Every picture of one round. `merged`: the merged regions of rounds 1..round, in
    order; `stats`, `previous_labelled`, `oracle_table` and `seed`: what acquire read and
    the ground truth, for the class-balance figure (drawn when all are given)."""
    if len(merged) != round:
        raise ValueError(f"give the merged regions of rounds 1..{round} (--merged), in "
                         f"order; got {len(merged)} files")
    ds = dataset_from(dataset)
    with contextlib.ExitStack() as stack:
        # Maps stay on disk (a Cityscapes pool's are 25 GB); pictures read one image's.
        sp = stack.enter_context(artifacts.open_superpixels(superpixels))
        region_of = [None] + list(merged)  # round r's merged regions (none in round 0)
        round_answers = artifacts.read_csv(answers)
        image = spec.image or default_image(round_answers)
        names = list(sp.names)
        if image not in names:
            raise ValueError(f"image {image!r} is not in the pool ({len(names)} images, e.g. "
                             f"{names[:3]})")
        written = _round_pictures(ds, sp, names.index(image), region_of, round_answers,
                                  labelled, sieved, model, features, method, trial, round,
                                  Path(out))
        balance = (stats, previous_labelled, oracle_table, seed)
        if round > 0 and all(x is not None for x in balance):
            region = artifacts.read_table(merged[-1], "merge", ("region",))[0]["region"]
            written += _class_balance_picture(ds, sp, region, round_answers, *balance, method,
                                              trial, round, Path(out))
    log.info("draw: wrote %d pictures to %s", len(written), out)
    return written


def _region_map(sp, i: int, merged_path: str | None) -> np.ndarray:
    """Image i's map of merged regions (base superpixels in round 0), reading only its rows
    of the merged file (a merged region never spans two images)."""
    if merged_path is None:
        return sp.global_map(i)
    lo, hi = int(sp.sp_offset[i]), int(sp.sp_offset[i + 1])
    with artifacts.open_table(merged_path, "merge", ("region",)) as (table, _):
        return np.asarray(table["region"][lo:hi])[sp.local_map(i)]


def _round_pictures(ds, sp, i: int, region_of: list, answers, labelled_path: str,
                    sieved_path: str, model_path: str, features_path: str | None, method: str,
                    trial: int, round: int, out: Path) -> list[Path]:
    image = sp.names[i]
    rgb = ds.read_image(image)
    names = list(ds.classes)
    written = []

    def save(name, picture, title, legend_extra=None, with_legend=True):
        picture = pictures.titled(pictures.upscale(picture), title)
        if with_legend:
            picture = pictures.vstack([picture, pictures.legend(names, ds.palette,
                                                                picture.shape[1], legend_extra)])
        path = out / f"{name}.png"
        _write_png(path, picture)
        written.append(path)

    base = sp.local_map(i)
    where = f"{method} trial {trial} round {round}, {image}"
    save("base_superpixels", pictures.draw_boundaries(rgb, base),
         f"base superpixels ({base.max() + 1}), {image}", with_legend=False)
    region = _region_map(sp, i, region_of[round])
    n_regions = len(np.unique(region))
    save("merged_superpixels", pictures.draw_boundaries(rgb, region),
         f"merged: {n_regions} regions from {base.max() + 1}, {where}", with_legend=False)

    # Queries of this round, coloured by the oracle's answer.
    labelled, _ = artifacts.read_table(labelled_path, "query")
    gid = sp.global_map(i)
    qmap = np.where(labelled["round"][gid] == round, labelled["query"][gid], -1)
    answer_of = np.full(int(labelled["query"].max()) + 1, -1)
    answer_of[answers["query_id"].to_numpy()] = answers["label"].to_numpy()
    n_here = len(np.unique(qmap[qmap >= 0]))
    save("queries", pictures.queries_picture(rgb, base, qmap, answer_of, ds.palette,
                                             ds.n_classes),
         f"{n_here} queries in this image, by answer; {where}",
         [("void", pictures.VOID_COLOUR)])

    # Sieved labels: kept against removed pixels.
    sieved, sattrs = artifacts.read_table(sieved_path, "sieve")
    lo, hi = sp.pixel_offset[i], sp.pixel_offset[i + 1]
    sel = (sieved["pixel"] >= lo) & (sieved["pixel"] < hi)
    flat = sieved["pixel"][sel] - lo
    h, w = sp.shapes[i]
    label = np.full(h * w, 255, np.int64)
    kept = np.zeros(h * w, bool)
    mask = np.zeros(h * w, bool)
    label[flat], kept[flat], mask[flat] = sieved["label"][sel], sieved["kept"][sel], True
    removed = int((mask & ~kept).sum())
    save("sieved_labels", pictures.sieve_picture(rgb, label.reshape(h, w), kept.reshape(h, w),
                                                 mask.reshape(h, w), ds.palette),
         f"sieved labels: {int(mask.sum())} labelled px, {removed} removed; {where}",
         [("removed", pictures.REMOVED)])

    # Prediction of this round's model beside the ground truth.
    from ..learning.inference import Predictor, torch_setup

    with Predictor(model_path, ds, torch_setup(0, "cpu"), features_path) as predictor:
        pred = next(predictor.probs([image]))
    panels = [pictures.titled(pictures.upscale(pictures.colourise(pred.argmax(0), ds.palette)),
                              "prediction")]
    if ds.label_path(image).exists():  # a human oracle's pool may have no labels
        panels.append(pictures.titled(pictures.upscale(pictures.colourise(
            ds.read_label(image), ds.palette)), "ground truth"))
    panel = pictures.hstack(panels)
    save("prediction_vs_truth", panel, f"model of {where}", [("void", pictures.VOID_COLOUR)])

    # Merged regions round by round up to this one (Fig. 16).
    panels = [pictures.titled(pictures.upscale(pictures.draw_boundaries(
        rgb, _region_map(sp, i, region)), 320), f"round {r}")
        for r, region in enumerate(region_of)]
    save("merged_by_round", pictures.hstack(panels),
         f"merged superpixels by round, {method} trial {trial}, {image}", with_legend=False)

    written += _knee_picture(ds, sieved, json.loads(sattrs["spec"])["n_points"], out)
    return written


def _knee_picture(ds, sieved: dict, n_points: int, out: Path) -> list[Path]:
    """The sorted-confidence curve of the largest sieved region of the round (Fig. 11)."""
    finite = np.flatnonzero(np.isfinite(sieved["threshold"]))
    if not len(finite) or not np.isfinite(sieved["confidence"]).any():
        log.info("draw: no region was sieved by a threshold; no knee figure")
        return []
    sizes = np.bincount(sieved["query"], minlength=len(sieved["threshold"]))
    q = finite[np.argmax(sizes[finite])]
    conf = sieved["confidence"][sieved["query"] == q]
    fig = pictures.knee_figure(conf, float(sieved["threshold"][q]), n_points,
                               f"query {q}: {len(conf)} px, label "
                               f"{ds.classes[int(sieved['label'][sieved['query'] == q][0])]}")
    path = out / "knee.png"
    _write_png(path, pictures.figure_to_rgb(fig))
    return [path]


def _class_balance_picture(ds, sp, region: np.ndarray, answers, stats_path: str,
                           labelled_path: str, table_path: str, seed: int, method: str,
                           trial: int, round: int, out: Path) -> list[Path]:
    """Queries per class (oracle answers) with and without the class-balance term (Fig. 19),
    both selected as acquire selects: from theta_{t-1}'s statistics, over the round's regions
    without a label yet, with the round's tie-breaks."""
    stats, _ = artifacts.read_table(stats_path, "predict", statistics.STAT_KEYS)
    labelled, _ = artifacts.read_table(labelled_path, "query", ("label",))
    gt, _ = artifacts.read_table(table_path, "oracle_table", ("gt_hist",))
    reps, group = np.unique(region, return_inverse=True)
    rstats = statistics.sum_rows(stats, group, len(reps))
    candidate = np.bincount(group, weights=labelled["label"] >= 0, minlength=len(reps)) == 0
    hist = np.zeros((len(reps), gt["gt_hist"].shape[1]), np.int64)
    np.add.at(hist, group, gt["gt_hist"])
    answer = hist.argmax(1)
    keys = acquisition.tiebreak_keys(reps, acquire_tie_seed(seed, trial, round))
    counts = {}
    for label, fn in [("u(s) only (BvSB)", "bvsb"), ("class-balanced, eq. 7", "classbal_pixel")]:
        score, _, _ = acquisition.scores(rstats, acquisition.AcquireSpec(function=fn))
        pick = acquisition.select_top(score, candidate, len(answers), keys)
        counts[label] = np.bincount(answer[pick], minlength=ds.n_classes + 1)
    names = list(ds.classes) + ["void"]
    fig = pictures.class_count_figure(
        names, counts, f"queries per class, {method} trial {trial} round {round}")
    path = out / "class_balance.png"
    _write_png(path, pictures.figure_to_rgb(fig))
    return [path]
