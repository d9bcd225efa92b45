"""One function per pipeline stage: read the inputs, call the pure functions, write outputs.

These are what the CLI (and so every Snakemake rule) runs. They check that their inputs agree
with each other before doing expensive work, and write each output atomically.
"""

from __future__ import annotations

import json
import logging
import time
from pathlib import Path

import numpy as np
import pandas as pd
import torch

from . import acquisition, artifacts, merging, oracle, sieving, statistics, superpixels
from .artifacts import ArtifactError, Superpixels, provenance
from .datasets import VOID, Dataset, open_dataset
from .models import build_model, load_checkpoint, resolve_device, save_checkpoint
from .training import TrainSpec, predict_probabilities, seed_everything, train

log = logging.getLogger(__name__)


class Progress:
    """Readable progress lines in a job's log: count, rate and time left, every ~10%."""

    def __init__(self, what: str, total: int):
        self.what, self.total, self.start, self.next = what, max(total, 1), time.time(), 0.0

    def __call__(self, done: int, extra: str = "") -> None:
        if done / self.total >= self.next or done == self.total:
            elapsed = time.time() - self.start
            left = elapsed / max(done, 1) * (self.total - done)
            log.info("%s: %d/%d (%.0f%%), %.1f s elapsed, ~%.1f s left%s", self.what, done,
                     self.total, 100 * done / self.total, elapsed, left, extra)
            self.next = done / self.total + 0.1


def derive_seed(*parts: int) -> int:
    """Independent, reproducible seed for one use (trial, round, stage). The count of parts
    is mixed in because SeedSequence pads with zeros: (5,) and (5, 0) must differ."""
    return int(np.random.SeedSequence([len(parts), *(int(p) for p in parts)]).generate_state(1)[0])


def dataset_from(cfg: dict) -> Dataset:
    return open_dataset(cfg["name"], cfg["root"], cfg.get("resize", 1.0),
                        cfg.get("evaluation_split", "val"))


# ------------------------------------------------------------------ superpixelize / oracle table


def shard_range(n_images: int, shard: int, n_shards: int) -> tuple[int, int]:
    """Contiguous block of pool images [lo, hi) handled by one shard of an image-wise stage."""
    if not 0 <= shard < n_shards:
        raise ValueError(f"shard {shard} is not in 0..{n_shards - 1}")
    return n_images * shard // n_shards, n_images * (shard + 1) // n_shards


def _build_superpixels(ds: Dataset, local_map_of, spec: dict, what: str,
                       names_in: list[str]) -> Superpixels:
    """Superpixel maps, areas and adjacency of some pool images from a per-image map maker."""
    names, shapes, maps, areas, edges, counts = [], [], [], [], [], []
    progress = Progress(what, len(names_in))
    sp_base = 0
    for k, name in enumerate(names_in):
        local = local_map_of(name)
        n = int(local.max()) + 1
        names.append(name)
        shapes.append(local.shape)
        maps.append(local.ravel())
        areas.append(np.bincount(local.ravel(), minlength=n))
        edges.append(superpixels.adjacency(local) + sp_base)
        counts.append(n)
        sp_base += n
        progress(k + 1)
    shapes = np.array(shapes, dtype=np.int64)
    area = np.concatenate(areas)
    attrs = provenance("superpixelize", spec, superpixel_spec=spec, classes=list(ds.classes),
                       dataset=ds.identity())
    attrs.update(achieved_per_image=float(np.mean(counts)), achieved_mean_size=float(area.mean()))
    return Superpixels(
        names=np.array(names), shapes=shapes,
        pixel_offset=np.concatenate([[0], np.cumsum(shapes[:, 0] * shapes[:, 1])]),
        sp_offset=np.concatenate([[0], np.cumsum(counts)]).astype(np.int64),
        maps=np.concatenate(maps).astype(np.int32), area=area.astype(np.int64),
        edges=np.concatenate(edges).astype(np.int64), attrs=attrs)


def superpixelize(dataset_cfg: dict, spec: superpixels.SeedsSpec, out: str, shard: int = 0,
                  n_shards: int = 1) -> Superpixels:
    """SEEDS base superpixels of the pool (or of one shard of it, to be gathered); records the
    size asked for and the size got."""
    ds = dataset_from(dataset_cfg)
    lo, hi = shard_range(len(ds.pool), shard, n_shards)
    ds.check_files(ds.pool[lo:hi])
    requested = []

    def seeds_map(name):
        image = ds.read_image(name)
        requested.append(spec.seeds_request(*image.shape[:2])[0])
        return superpixels.superpixelize_image(image, spec)

    sp = _build_superpixels(ds, seeds_map, {"source": "seeds", **spec.as_dict()},
                            "superpixelize", ds.pool[lo:hi])
    sp.attrs.update(requested_per_image=int(np.median(requested)), target_size=spec.size,
                    shard=shard, n_shards=n_shards)
    log.info("superpixelize: asked SEEDS for %d superpixels per image (target size %d px); "
             "got %.1f per image, mean size %.1f px", int(np.median(requested)), spec.size,
             sp.attrs["achieved_per_image"], sp.attrs["achieved_mean_size"])
    artifacts.write_superpixels(out, sp)
    return sp


def superpixelize_oracle(dataset_cfg: dict, out: str) -> Superpixels:
    """Oracle superpixels: connected components of each ground-truth map (void included).

    An upper bound that reads ground truth by design: every query is pure.
    """
    ds = dataset_from(dataset_cfg)
    ds.check_files(ds.pool, labels=True)
    sp = _build_superpixels(ds, lambda name: superpixels.connected_relabel(ds.read_label(name)),
                            {"source": "oracle"}, "superpixelize (oracle)", ds.pool)
    log.info("superpixelize: %d oracle superpixels, mean size %.1f px", sp.n_superpixels,
             sp.attrs["achieved_mean_size"])
    artifacts.write_superpixels(out, sp)
    return sp


def gather_superpixels(shard_paths: list[str], out: str) -> Superpixels:
    """One pool-wide superpixel file from its shards, ids renumbered as if made in one job."""
    parts = [artifacts.read_superpixels(p) for p in shard_paths]
    for k, (path, part) in enumerate(zip(shard_paths, parts)):
        if int(part.attrs.get("shard", 0)) != k or int(part.attrs.get("n_shards", 1)) != len(parts):
            raise ArtifactError(f"{path}: is shard {part.attrs.get('shard')} of "
                                f"{part.attrs.get('n_shards')}, expected {k} of {len(parts)}")
    artifacts.check_same("superpixel spec", shard_paths,
                         [p.attrs["superpixel_spec"] for p in parts])
    sp_base = np.cumsum([0] + [p.n_superpixels for p in parts])
    px_base = np.cumsum([0] + [int(p.pixel_offset[-1]) for p in parts])
    area = np.concatenate([p.area for p in parts])
    attrs = dict(parts[0].attrs)
    attrs.update(shard=0, n_shards=1, gathered_from=len(parts),
                 achieved_per_image=float(sp_base[-1] / sum(p.n_images for p in parts)),
                 achieved_mean_size=float(area.mean()))
    sp = Superpixels(
        names=np.concatenate([p.names for p in parts]),
        shapes=np.concatenate([p.shapes for p in parts]),
        pixel_offset=np.concatenate([[0]] + [p.pixel_offset[1:] + b
                                             for p, b in zip(parts, px_base)]),
        sp_offset=np.concatenate([[0]] + [p.sp_offset[1:] + b for p, b in zip(parts, sp_base)]),
        maps=np.concatenate([p.maps for p in parts]), area=area,
        edges=np.concatenate([p.edges + b for p, b in zip(parts, sp_base)]), attrs=attrs)
    artifacts.write_superpixels(out, sp)
    return sp


def gather_table(shard_paths: list[str], stage: str, out: str) -> None:
    """Concatenate the row blocks of a per-superpixel table made in shards."""
    tables = [artifacts.read_table(p, stage) for p in shard_paths]
    for k, (path, (_, attrs)) in enumerate(zip(shard_paths, tables)):
        if int(attrs.get("shard", 0)) != k or int(attrs.get("n_shards", 1)) != len(tables):
            raise ArtifactError(f"{path}: is shard {attrs.get('shard')} of "
                                f"{attrs.get('n_shards')}, expected {k} of {len(tables)}")
    arrays = {key: np.concatenate([t[0][key] for t in tables]) for key in tables[0][0]}
    attrs = dict(tables[0][1])
    attrs.update(shard=0, n_shards=1, gathered_from=len(tables))
    artifacts.write_table(out, stage, arrays, attrs)


def _check_pool(ds: Dataset, sp: Superpixels, sp_path: str) -> None:
    if list(sp.names) != list(ds.pool):
        raise ArtifactError(f"{sp_path}: made for another pool than the dataset's "
                            f"({len(sp.names)} vs {len(ds.pool)} images); rerun superpixelize")
    classes = artifacts.read_attrs(sp_path).get("classes")
    if classes is not None and json.loads(classes) != list(ds.classes):
        raise ArtifactError(f"{sp_path}: made under classes {classes}, the dataset has "
                            f"{list(ds.classes)}; rerun superpixelize")


def oracle_table(dataset_cfg: dict, sp_path: str, out: str) -> None:
    ds = dataset_from(dataset_cfg)
    sp = artifacts.read_superpixels(sp_path)
    _check_pool(ds, sp, sp_path)
    ds.check_files(list(sp.names), labels=True)
    hists = []
    progress = Progress("oracle table", sp.n_images)
    for i, name in enumerate(sp.names):
        label = ds.read_label(name)
        if label.shape != tuple(sp.shapes[i]):
            raise ArtifactError(f"{ds.label_path(name)}: label is {label.shape} but its "
                                f"superpixels are {tuple(sp.shapes[i])}")
        n = int(sp.sp_offset[i + 1] - sp.sp_offset[i])
        hists.append(oracle.label_histograms(label, sp.local_map(i), n, ds.n_classes))
        progress(i + 1)
    attrs = provenance("oracle_table", superpixel_spec=sp.attrs["superpixel_spec"],
                       classes=list(ds.classes))
    artifacts.write_table(out, "oracle_table", {"gt_hist": np.concatenate(hists)}, attrs)


# ------------------------------------------------------------------ the warm-up draw


QUERY_COLUMNS = ["query", "round", "region", "image", "image_name", "n_base", "size", "score",
                 "uncertainty", "predicted"]


def draw_warmup(sp_path: str, budget: int, seed: int, trial: int, out: str) -> pd.DataFrame:
    """Round 0: B base superpixels uniformly at random; depends only on the trial's seed."""
    sp = artifacts.read_superpixels(sp_path)
    rng = np.random.default_rng(derive_seed(seed, trial, 0, 1))
    m = sp.n_superpixels
    if budget > m:
        log.warning("warm-up budget %d exceeds the pool's %d superpixels; taking all", budget, m)
    pick = rng.choice(m, size=min(budget, m), replace=False)
    image = sp.image_of()[pick]
    table = pd.DataFrame({
        "query": np.arange(len(pick)), "round": 0, "region": pick, "image": image,
        "image_name": sp.names[image], "n_base": 1, "size": sp.area[pick], "score": np.nan,
        "uncertainty": np.nan, "predicted": -1})
    table.attrs = {}
    artifacts.write_csv(out, table[QUERY_COLUMNS])
    return table


# ------------------------------------------------------------------ predict


def predict(dataset_cfg: dict, sp_path: str, model_path: str, out: str, device: str = "auto",
            threads: int = 0, batch_size: int = 8, shard: int = 0, n_shards: int = 1) -> None:
    """One forward pass over the pool (or one shard of it), reduced to per base superpixel
    statistics."""
    if threads:
        torch.set_num_threads(threads)
    ds = dataset_from(dataset_cfg)
    sp = artifacts.read_superpixels(sp_path)
    _check_pool(ds, sp, sp_path)
    dev = resolve_device(device)
    model, meta = load_checkpoint(model_path, ds.n_classes, str(dev))
    rows = {k: [] for k in statistics.STAT_KEYS}
    lo, hi = shard_range(sp.n_images, shard, n_shards)
    progress = Progress("predict", hi - lo)
    images = (ds.read_image(n) for n in sp.names[lo:hi])
    for i, probs in enumerate(_stream_probs(model, images, dev, batch_size), start=lo):
        n = int(sp.sp_offset[i + 1] - sp.sp_offset[i])
        stats = statistics.superpixel_statistics(probs, sp.local_map(i), n)
        for k in rows:
            rows[k].append(stats[k])
        progress(i + 1 - lo)
    arrays = {k: np.concatenate(v) for k, v in rows.items()}
    attrs = provenance("predict", superpixel_spec=sp.attrs["superpixel_spec"],
                       classes=list(ds.classes), model=str(model_path),
                       model_round=int(meta.get("round", -1)), shard=shard, n_shards=n_shards)
    artifacts.write_table(out, "predict", arrays, attrs)


def _stream_probs(model, images, device, batch_size):
    """Batch a stream of images without holding the pool in memory."""
    chunk = []
    for image in images:
        chunk.append(image)
        if len(chunk) == batch_size:
            yield from predict_probabilities(model, chunk, device, batch_size)
            chunk = []
    if chunk:
        yield from predict_probabilities(model, chunk, device, batch_size)


# ------------------------------------------------------------------ merge


def _read_stats(path: str, sp: Superpixels, sp_path: str) -> dict:
    stats, attrs = artifacts.read_table(path, "predict", statistics.STAT_KEYS)
    artifacts.check_same("superpixel spec", [sp_path, path],
                         [sp.attrs["superpixel_spec"], attrs["superpixel_spec"]])
    if len(stats["count"]) != sp.n_superpixels:
        raise ArtifactError(f"{path}: {len(stats['count'])} rows but {sp_path} has "
                            f"{sp.n_superpixels} superpixels; rerun predict")
    return stats


def _read_labelled(path: str | None, m: int) -> dict:
    if path is None:
        return {"label": np.full(m, -1, np.int16), "query": np.full(m, -1, np.int32),
                "round": np.full(m, -1, np.int16)}
    arrays, _ = artifacts.read_table(path, "query", ("label", "query", "round"))
    if len(arrays["label"]) != m:
        raise ArtifactError(f"{path}: {len(arrays['label'])} rows, expected {m}; rerun query")
    return arrays


def merge(sp_path: str, stats_path: str, labelled_path: str, spec: merging.MergeSpec,
          out: str) -> np.ndarray:
    """Merged region (global id of its seed) of every base superpixel."""
    sp = artifacts.read_superpixels(sp_path)
    stats = _read_stats(stats_path, sp, sp_path)
    frozen = _read_labelled(labelled_path, sp.n_superpixels)["label"] >= 0
    count = np.maximum(stats["count"], 1)[:, None]
    mean_probs = stats["prob_sum"] / count
    uncertainty = stats["u_sum"] / count[:, 0]
    region = np.arange(sp.n_superpixels, dtype=np.int64)
    edge_bounds = np.searchsorted(sp.edges[:, 0], sp.sp_offset)
    progress = Progress(f"merge ({spec.mode})", sp.n_images)
    for i in range(sp.n_images):
        lo, hi = sp.sp_offset[i], sp.sp_offset[i + 1]
        edges = sp.edges[edge_bounds[i]:edge_bounds[i + 1]] - lo
        region[lo:hi] = lo + merging.merge_image(mean_probs[lo:hi], uncertainty[lo:hi], edges,
                                                 frozen[lo:hi], spec)
        progress(i + 1)
    n_regions = len(np.unique(region))
    log.info("merge: %d base superpixels -> %d regions (%.2f per region)", sp.n_superpixels,
             n_regions, sp.n_superpixels / n_regions)
    attrs = provenance("merge", spec.as_dict(), superpixel_spec=sp.attrs["superpixel_spec"],
                       n_regions=n_regions)
    artifacts.write_table(out, "merge", {"region": region}, attrs)
    return region


def read_regions(path: str | None, m: int) -> np.ndarray:
    if path is None:
        return np.arange(m, dtype=np.int64)
    arrays, _ = artifacts.read_table(path, "merge", ("region",))
    if len(arrays["region"]) != m:
        raise ArtifactError(f"{path}: {len(arrays['region'])} rows, expected {m}; rerun merge")
    return arrays["region"]


# ------------------------------------------------------------------ acquire


def acquire(sp_path: str, stats_path: str, merged_path: str, labelled_path: str,
            spec: acquisition.AcquireSpec, budget: int, seed: int, trial: int, round: int,
            out: str) -> pd.DataFrame:
    """Top-B regions by the acquisition score. Reads no ground truth."""
    if budget <= 0:
        raise ValueError(f"budget {budget}: each round must ask at least one query")
    sp = artifacts.read_superpixels(sp_path)
    stats = _read_stats(stats_path, sp, sp_path)
    region = read_regions(merged_path, sp.n_superpixels)
    labelled = _read_labelled(labelled_path, sp.n_superpixels)["label"] >= 0
    reps, group = np.unique(region, return_inverse=True)
    region_stats = statistics.sum_rows(stats, group, len(reps))
    score, u, dominant = acquisition.scores(region_stats, spec)
    # A region holding any labelled base superpixel is never asked again (merging already
    # keeps labelled ones apart; this also covers regions from other merge rules).
    candidate = np.bincount(group, weights=labelled, minlength=len(reps)) == 0
    rng = np.random.default_rng(derive_seed(seed, trial, round, 2))
    n_left = int(candidate.sum())
    if budget > n_left:
        log.warning("budget %d exceeds the %d regions left unlabelled; spending %d", budget,
                    n_left, n_left)
    pick = acquisition.select_top(score, candidate, budget, rng)
    image = sp.image_of()[reps[pick]]
    table = pd.DataFrame({
        "query": np.arange(len(pick)), "round": round, "region": reps[pick], "image": image,
        "image_name": sp.names[image], "n_base": np.bincount(group)[pick],
        "size": region_stats["count"][pick], "score": score[pick], "uncertainty": u[pick],
        "predicted": dominant[pick]})
    artifacts.write_csv(out, table[QUERY_COLUMNS])
    return table


# ------------------------------------------------------------------ query (the oracle)


def query(queries_path: str, table_path: str, merged_path: str | None,
          prev_labelled_path: str | None, classes: list[str], round: int,
          out_answers: str, out_labelled: str) -> pd.DataFrame:
    """Ask the oracle for each query's dominant label; add them to the labelled set."""
    queries = artifacts.read_csv(queries_path)
    table, tattrs = artifacts.read_table(table_path, "oracle_table", ("gt_hist",))
    gt_hist = table["gt_hist"]
    m = len(gt_hist)
    region = read_regions(merged_path, m)
    state = {k: v.copy() for k, v in _read_labelled(prev_labelled_path, m).items()}
    first_query = int(state["query"].max()) + 1 if (state["query"] >= 0).any() else 0
    if prev_labelled_path is not None:
        prev_clicks = int(artifacts.read_attrs(prev_labelled_path)["clicks_total"])
    else:
        prev_clicks = 0
    n_classes = gt_hist.shape[1] - 1
    if n_classes != len(classes):
        raise ArtifactError(f"{table_path}: histograms have {n_classes} classes, the dataset "
                            f"{len(classes)}; rerun oracle_table")
    reps = queries["region"].to_numpy()
    # Membership: base superpixel b belongs to query k when region[b] == reps[k].
    lookup = np.full(m, -1, np.int64)
    lookup[reps] = np.arange(len(reps))
    member_of = lookup[region]
    members = member_of >= 0
    if (state["label"][members] >= 0).any():
        raise ArtifactError(f"{queries_path}: a query covers superpixels labelled in an earlier "
                            "round; rerun acquire")
    hist = np.zeros((len(reps), n_classes + 1), np.int64)
    np.add.at(hist, member_of[members], gt_hist[members])
    answer = oracle.dominant_label(hist)
    qid = first_query + np.arange(len(reps))
    state["label"][members] = answer[member_of[members]]
    state["query"][members] = qid[member_of[members]]
    state["round"][members] = round
    names = list(classes) + ["void"]
    answers = queries.assign(query_id=qid, label=answer,
                             label_name=[names[a] for a in answer], clicks=1)
    clicks_total = prev_clicks + len(answers)
    void = int((answer == n_classes).sum())
    log.info("query: %d clicks this round (%d void-dominant, nothing learnt from them), "
             "%d in total", len(answers), void, clicks_total)
    artifacts.write_csv(out_answers, answers)
    attrs = provenance("query", superpixel_spec=tattrs["superpixel_spec"], classes=list(classes),
                       round=round, clicks_total=clicks_total, void_label=n_classes)
    artifacts.write_table(out_labelled, "query", state, attrs)
    return answers


# ------------------------------------------------------------------ sieve


def sieve(dataset_cfg: dict, sp_path: str, labelled_path: str, model_path: str | None,
          prev_sieved_path: str | None, spec: sieving.SieveSpec, round: int, out: str,
          device: str = "auto", threads: int = 0) -> dict:
    """Labelled pixels of every queried region, each kept or sieved out (eq. 8-9).

    Without a model (round 0) every pixel of a non-void region is kept.
    """
    if threads:
        torch.set_num_threads(threads)
    ds = dataset_from(dataset_cfg)
    sp = artifacts.read_superpixels(sp_path)
    state, lattrs = artifacts.read_table(labelled_path, "query", ("label", "query", "round"))
    void_label = int(lattrs["void_label"])
    model = None
    if model_path is not None and spec.threshold != "none":
        dev = resolve_device(device)
        model, _ = load_checkpoint(model_path, ds.n_classes, str(dev))
    reuse = {}
    if spec.scope == "new" and prev_sieved_path is not None:
        prev, _ = artifacts.read_table(prev_sieved_path, "sieve")
        reuse = {"pixel": prev["pixel"], "kept": prev["kept"]}
    useful = (state["label"] >= 0) & (state["label"] != void_label)
    images = np.unique(sp.image_of()[useful])
    pixels, labels, queries, confs = [], [], [], []
    progress = Progress("sieve: labelled pixels", len(images))
    for k, i in enumerate(images):
        local = sp.local_map(i).ravel()
        gid = sp.sp_offset[i] + local
        lab = state["label"][gid]
        inside = np.flatnonzero((lab >= 0) & (lab != void_label))
        pixels.append(sp.pixel_offset[i] + inside)
        labels.append(lab[inside])
        queries.append(state["query"][gid[inside]])
        if model is not None:
            probs = next(predict_probabilities(model, [ds.read_image(sp.names[i])], dev))
            flat = probs.reshape(probs.shape[0], -1)
            confs.append(flat[lab[inside], inside])
        progress(k + 1)
    pixel = np.concatenate(pixels) if pixels else np.zeros(0, np.int64)
    label = np.concatenate(labels).astype(np.uint8) if labels else np.zeros(0, np.uint8)
    qid = np.concatenate(queries).astype(np.int64) if queries else np.zeros(0, np.int64)
    n_q = int(state["query"].max()) + 1 if (state["query"] >= 0).any() else 0
    thresholds = np.full(n_q, -np.inf)
    if model is None:
        kept = np.ones(len(pixel), bool)
        conf = np.full(len(pixel), np.nan)
    else:
        conf = np.concatenate(confs)
        kept, thresholds = sieving.sieve_regions(conf, qid, n_q, spec)
        if reuse:  # scope "new": earlier rounds' regions keep their earlier decision
            q_round = np.full(n_q, -1)
            q_round[state["query"][state["query"] >= 0]] = state["round"][state["query"] >= 0]
            old = q_round[qid] < round
            pos = np.searchsorted(reuse["pixel"], pixel[old])
            kept[old] = reuse["kept"][np.clip(pos, 0, len(reuse["kept"]) - 1)]
    log.info("sieve: %d labelled pixels in %d regions, kept %d (%.1f%%)", len(pixel), n_q,
             int(kept.sum()), 100 * kept.mean() if len(kept) else 0)
    attrs = provenance("sieve", spec.as_dict(), superpixel_spec=lattrs["superpixel_spec"],
                       classes=lattrs["classes"], round=round,
                       kneed_version=_kneed_version(), model=str(model_path))
    arrays = {"pixel": pixel, "label": label, "query": qid, "kept": kept, "confidence": conf,
              "threshold": thresholds}
    artifacts.write_table(out, "sieve", arrays, attrs)
    return arrays


def _kneed_version() -> str:
    from importlib.metadata import version

    return version("kneed")


# ------------------------------------------------------------------ train


def sparse_targets(sp: Superpixels, sieved: dict) -> dict[int, np.ndarray]:
    """Per image with any kept pixel: an (H, W) target map, VOID where unlabelled."""
    pixel = sieved["pixel"][sieved["kept"]]
    label = sieved["label"][sieved["kept"]]
    image = np.searchsorted(sp.pixel_offset, pixel, side="right") - 1
    targets = {}
    for i in np.unique(image):
        h, w = sp.shapes[i]
        t = np.full(h * w, VOID, np.uint8)
        sel = image == i
        t[pixel[sel] - sp.pixel_offset[i]] = label[sel]
        targets[int(i)] = t.reshape(h, w)
    return targets


def train_stage(dataset_cfg: dict, sp_path: str, sieved_path: str, spec: TrainSpec, seed: int,
                trial: int, round: int, init_path: str | None, out_model: str,
                out_log: str) -> None:
    if spec.threads:
        torch.set_num_threads(spec.threads)
    ds = dataset_from(dataset_cfg)
    sp = artifacts.read_superpixels(sp_path)
    sieved, _ = artifacts.read_table(sieved_path, "sieve", ("pixel", "label", "kept"))
    targets = sparse_targets(sp, sieved)
    images = [ds.read_image(sp.names[i]) for i in targets]
    log.info("train: round %d, %d labelled pixels over %d images, %s for %d iterations",
             round, int(sieved["kept"].sum()), len(images), spec.model, spec.iterations)
    seed_everything(derive_seed(seed, trial))  # same initial weights every round of a trial
    model = build_model(spec.model, ds.n_classes, spec.pretrained)
    if spec.init == "previous" and init_path is not None:
        model, _ = load_checkpoint(init_path, ds.n_classes)
        model.train()
    device = resolve_device(spec.device)
    log.info("train: on %s%s, mixed precision %s", device,
             f" ({torch.cuda.get_device_name(device)})" if device.type == "cuda" else "",
             "on" if spec.amp and device.type == "cuda" else "off")
    progress = Progress("train", spec.iterations)
    history = train(model, images, list(targets.values()), spec,
                    derive_seed(seed, trial, round, 3), device,
                    progress=lambda it, n, loss: progress(it, f", loss {loss:.4f}"))
    meta = {"model": spec.model, "n_classes": ds.n_classes, "classes": list(ds.classes),
            "round": round, "trial": trial, "seed": seed, "spec": spec.as_dict(),
            "asal_version": artifacts.__version__}
    artifacts.write_csv(out_log, pd.DataFrame(history))
    save_checkpoint(out_model, model.cpu(), meta)


# ------------------------------------------------------------------ evaluate


def confusion(pred: np.ndarray, label: np.ndarray, n_classes: int) -> np.ndarray:
    valid = label != VOID
    idx = label[valid].astype(np.int64) * n_classes + pred[valid]
    return np.bincount(idx, minlength=n_classes ** 2).reshape(n_classes, n_classes)


def iou_from_confusion(conf: np.ndarray) -> np.ndarray:
    """Per-class IoU = TP / (TP + FP + FN); NaN for a class absent from both."""
    tp = np.diag(conf).astype(np.float64)
    union = conf.sum(0) + conf.sum(1) - tp
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(union > 0, tp / union, np.nan)


def label_quality(sp: Superpixels, sieved: dict, labels_of) -> dict:
    """How right the labels given to training are, measured against ground truth.

    Evaluation side only: nothing here is fed back to acquisition. `labels_of(i)` returns the
    ground-truth map of pool image i.
    """
    pixel, label, kept = sieved["pixel"], sieved["label"], sieved["kept"].astype(bool)
    image = np.searchsorted(sp.pixel_offset, pixel, side="right") - 1
    truth = np.empty(len(pixel), np.int64)
    for i in np.unique(image):
        sel = image == i
        truth[sel] = labels_of(int(i)).ravel()[pixel[sel] - sp.pixel_offset[i]]
    right = truth == label
    n, n_kept, n_right = len(pixel), int(kept.sum()), int(right.sum())
    return {
        "labelled_pixels": n,
        "kept_pixels": n_kept,
        # share of labelled pixels whose oracle label is right (the dominant-label noise)
        "label_purity": n_right / n if n else None,
        # the same among the pixels that sieving kept
        "sieved_purity": int((right & kept).sum()) / n_kept if n_kept else None,
        # share of the right pixels that sieving kept
        "sieve_recall": int((right & kept).sum()) / n_right if n_right else None,
    }


def query_summary(answers: pd.DataFrame, names: list[str]) -> dict:
    """This round's queries: how large they were and which label the oracle gave them."""
    counts = answers["label"].value_counts()
    return {
        "round_clicks": int(len(answers)),
        "mean_query_size": float(answers["size"].mean()) if len(answers) else None,
        "mean_query_base_superpixels": float(answers["n_base"].mean()) if len(answers) else None,
        "queries_per_class": {name: int(counts.get(k, 0)) for k, name in enumerate(names)},
    }


def evaluate(dataset_cfg: dict, model_path: str, labelled_path: str, meta: dict, out: str,
             device: str = "auto", threads: int = 0, sp_path: str | None = None,
             sieved_path: str | None = None, answers_path: str | None = None) -> dict:
    """mIoU on the evaluation split, plus (when given the round's labels) their quality."""
    if threads:
        torch.set_num_threads(threads)
    ds = dataset_from(dataset_cfg)
    dev = resolve_device(device)
    ds.check_files(ds.evaluation, labels=True)
    model, _ = load_checkpoint(model_path, ds.n_classes, str(dev))
    conf = np.zeros((ds.n_classes, ds.n_classes), np.int64)
    progress = Progress("evaluate", len(ds.evaluation))
    images = (ds.read_image(n) for n in ds.evaluation)
    for k, probs in enumerate(_stream_probs(model, images, dev, 8)):
        conf += confusion(probs.argmax(0), ds.read_label(ds.evaluation[k]), ds.n_classes)
        progress(k + 1)
    iou = iou_from_confusion(conf)
    clicks = int(artifacts.read_attrs(labelled_path)["clicks_total"])
    metrics = {
        **meta, "clicks": clicks, "miou": float(np.nanmean(iou)),
        "pixel_accuracy": float(np.trace(conf) / max(conf.sum(), 1)),
        "iou": {c: (None if np.isnan(v) else float(v)) for c, v in zip(ds.classes, iou)},
        "evaluation_split": dataset_cfg.get("evaluation_split", "val"),
        "n_evaluation_images": len(ds.evaluation), "asal_version": artifacts.__version__,
    }
    if answers_path is not None:
        metrics.update(query_summary(artifacts.read_csv(answers_path),
                                     list(ds.classes) + ["void"]))
    if sieved_path is not None and sp_path is not None:
        sp = artifacts.read_superpixels(sp_path)
        sieved, _ = artifacts.read_table(sieved_path, "sieve", ("pixel", "label", "kept"))
        metrics.update(label_quality(sp, sieved, lambda i: ds.read_label(sp.names[i])))
    log.info("evaluate: mIoU %.4f after %d clicks", metrics["miou"], clicks)
    artifacts.write_json(out, metrics)
    return metrics
