"""Rule draw (`asal draw`): pictures of one method, trial, round and image, found through the layout.

Evaluation side: it may read ground truth (to show it, and to count the oracle's answers for
the class-balance figure); nothing it computes goes back into the pipeline.
"""

from __future__ import annotations

import contextlib
import logging
from pathlib import Path

import cv2
import numpy as np

from ..data.datasets import open_dataset
from ..experiment.config import dataset_settings, load_config
from ..experiment.methods import stage_settings, superpixel_kind
from ..method import acquisition, statistics
from ..reporting import pictures
from ..store import artifacts, layout
from .arguments import add_config, json_object

log = logging.getLogger(__name__)

HELP = "pictures of one method, trial, round and image"


def add_arguments(p) -> None:
    add_config(p)
    p.add_argument("--settings", type=json_object, default=None,
                   help="JSON of asal.stages.draw.draw_settings (what the workflow passes), "
                        "instead of --config")
    p.add_argument("--method", required=True)
    p.add_argument("--trial", type=int, default=0)
    p.add_argument("--round", type=int, required=True)
    p.add_argument("--image", default=None, help="pool image name; default: the image with "
                   "most of the round's queries")
    p.add_argument("--out", required=True, help="folder for the PNG files")


def main(args) -> list:
    paths = draw(args.settings or args.config, args.method, args.trial, args.round, args.image,
                 args.out)
    for path in paths:
        print(path)
    return paths


def _write_png(path: Path, rgb: np.ndarray) -> None:
    with artifacts.atomic_path(path) as tmp:
        ok, buf = cv2.imencode(".png", cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR))
        if not ok:
            raise RuntimeError(f"{path}: PNG encoding failed")
        tmp.write_bytes(buf.tobytes())


def draw_settings(config: dict, method: str) -> dict:
    """The few settings the pictures of a method depend on (and so the draw rule's params:
    changing anything else redraws nothing)."""
    return {"experiment": config["experiment"], "dataset": dataset_settings(config),
            "rounds": config["rounds"], "budget": config["budget"],
            "superpixels": superpixel_kind(config, method),
            "sieve_points": int(stage_settings(config, method, "sieve").get("n_points", 20)),
            "features": features_of(config)}


def features_of(config: dict) -> str | None:
    """The cached features file a feature head reads (None for networks over pixels)."""
    train = config.get("train") or {}
    if train.get("model") != "feature_head":
        return None
    return layout.fill(layout.FEATURES, experiment=config["experiment"],
                       encoder=train.get("encoder", "efficientnet_lite0"))


class RunView:
    """The artifacts of one method and trial of an experiment, by round."""

    def __init__(self, config: str | dict, method: str, trial: int):
        if isinstance(config, (str, Path, list)):
            config = draw_settings(load_config(config), method)
        self.config = config
        self.exp = config["experiment"]
        self.method, self.trial = method, trial
        self.kind = config["superpixels"]
        self.ds = open_dataset(**config["dataset"])
        # Maps stay on disk (a Cityscapes pool's are 25 GB); pictures read one image's.
        self._files = contextlib.ExitStack()
        self.sp = self._files.enter_context(artifacts.open_superpixels(
            layout.fill(layout.SUPERPIXELS, experiment=self.exp, spx=self.kind)))
        self.names = list(self.sp.names)

    def path(self, kind: str, round: int) -> Path:
        method = layout.source_method(self.method, round, self.kind)
        return layout.round_path(kind, self.exp, method, self.trial, round)

    def rounds(self) -> list[int]:
        return [r for r in range(self.config["rounds"] + 1) if self.path("metrics", r).exists()]

    def region_map(self, i: int, round: int) -> np.ndarray:
        base = self.sp.global_map(i)
        merged = self.path("merged", round)
        if round == 0 or not merged.exists():
            return base
        region, _ = artifacts.read_table(merged, "merge", ("region",))
        return region["region"][base]


def default_image(view: RunView, round: int) -> str:
    """The image holding most of the round's queries: the most to look at."""
    answers = artifacts.read_csv(view.path("answers", round))
    return str(answers["image_name"].value_counts().idxmax())


def draw(config: str | dict, method: str, trial: int, round: int, image: str | None,
         out_dir: str) -> list[Path]:
    """Every picture of one round; `config` is the experiment's config file, or the dict of
    `draw_settings`."""
    view = RunView(config, method, trial)
    ds, sp = view.ds, view.sp
    image = image or default_image(view, round)
    if image not in view.names:
        raise ValueError(f"image {image!r} is not in the pool ({len(view.names)} images, e.g. "
                         f"{view.names[:3]})")
    i = view.names.index(image)
    out = Path(out_dir)
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
    region = view.region_map(i, round)
    n_regions = len(np.unique(region))
    save("merged_superpixels", pictures.draw_boundaries(rgb, region),
         f"merged: {n_regions} regions from {base.max() + 1}, {where}", with_legend=False)

    # Queries of this round, coloured by the oracle's answer.
    labelled, lattrs = artifacts.read_table(view.path("labelled", round), "query")
    answers = artifacts.read_csv(view.path("answers", round))
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
    sieved, _ = artifacts.read_table(view.path("sieved", round), "sieve")
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

    with Predictor(view.path("model", round), ds, torch_setup(0, "cpu"),
                   view.config.get("features")) as predictor:
        pred = next(predictor.probs([image]))
    panels = [pictures.titled(pictures.upscale(pictures.colourise(pred.argmax(0), ds.palette)),
                              "prediction")]
    if ds.label_path(image).exists():  # a human oracle's pool may have no labels
        panels.append(pictures.titled(pictures.upscale(pictures.colourise(
            ds.read_label(image), ds.palette)), "ground truth"))
    panel = pictures.hstack(panels)
    save("prediction_vs_truth", panel, f"model of {where}", [("void", pictures.VOID_COLOUR)])

    # Across the run: merged regions round by round (Fig. 16).
    panels = [pictures.titled(pictures.upscale(pictures.draw_boundaries(
        rgb, view.region_map(i, r)), 320), f"round {r}") for r in view.rounds()]
    if panels:
        save("merged_by_round", pictures.hstack(panels),
             f"merged superpixels by round, {method} trial {trial}, {image}",
             with_legend=False)

    written += _knee_picture(view, round, out)
    written += _class_balance_picture(view, round, out)
    log.info("draw: wrote %d pictures to %s", len(written), out)
    return written


def _knee_picture(view: RunView, round: int, out: Path) -> list[Path]:
    """The sorted-confidence curve of the largest sieved region of the round (Fig. 11)."""
    sieved, attrs = artifacts.read_table(view.path("sieved", round), "sieve")
    finite = np.flatnonzero(np.isfinite(sieved["threshold"]))
    if not len(finite) or not np.isfinite(sieved["confidence"]).any():
        log.info("draw: no region was sieved by a threshold in round %d; no knee figure", round)
        return []
    sizes = np.bincount(sieved["query"], minlength=len(sieved["threshold"]))
    q = finite[np.argmax(sizes[finite])]
    conf = sieved["confidence"][sieved["query"] == q]
    fig = pictures.knee_figure(conf, float(sieved["threshold"][q]), view.config["sieve_points"],
                               f"query {q}: {len(conf)} px, label "
                               f"{view.ds.classes[int(sieved['label'][sieved['query'] == q][0])]}")
    path = out / "knee.png"
    _write_png(path, pictures.figure_to_rgb(fig))
    return [path]


def _class_balance_picture(view: RunView, round: int, out: Path) -> list[Path]:
    """Queries per class (oracle answers) with and without the class-balance term (Fig. 19),
    both selected from the same statistics and regions of this round."""
    table = Path(layout.fill(layout.ORACLE_TABLE, experiment=view.exp, spx=view.kind))
    if round == 0 or not table.exists():  # no ground truth with a human oracle
        return []
    stats, _ = artifacts.read_table(view.path("stats", round - 1), "predict",
                                    statistics.STAT_KEYS)
    merged = view.path("merged", round)
    region = (artifacts.read_table(merged, "merge", ("region",))[0]["region"]
              if merged.exists() else np.arange(view.sp.n_superpixels))
    labelled, _ = artifacts.read_table(view.path("labelled", round - 1), "query", ("label",))
    gt, _ = artifacts.read_table(table, "oracle_table", ("gt_hist",))
    reps, group = np.unique(region, return_inverse=True)
    rstats = statistics.sum_rows(stats, group, len(reps))
    candidate = np.bincount(group, weights=labelled["label"] >= 0, minlength=len(reps)) == 0
    hist = np.zeros((len(reps), gt["gt_hist"].shape[1]), np.int64)
    np.add.at(hist, group, gt["gt_hist"])
    answer = hist.argmax(1)
    budget = view.config["budget"]
    counts = {}
    for label, fn in [("u(s) only (BvSB)", "bvsb"), ("class-balanced, eq. 7", "classbal_pixel")]:
        score, _, _ = acquisition.scores(rstats, acquisition.AcquireSpec(function=fn))
        pick = acquisition.select_top(score, candidate, budget,
                                       acquisition.tiebreak_keys(reps, 0))
        counts[label] = np.bincount(answer[pick], minlength=view.ds.n_classes + 1)
    names = list(view.ds.classes) + ["void"]
    fig = pictures.class_count_figure(
        names, counts, f"queries per class, {view.method} trial {view.trial} round {round}")
    path = out / "class_balance.png"
    _write_png(path, pictures.figure_to_rgb(fig))
    return [path]
