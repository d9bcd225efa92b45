"""One function per pipeline stage: read the inputs, call the pure functions, write outputs.

These are what the CLI (and so every Snakemake rule) runs. They check that their inputs agree
with each other before doing expensive work, and write each output atomically.
"""

from __future__ import annotations

import contextlib
import json
import logging
import time
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from .method import acquisition, merging, oracle, statistics, superpixels
from .store import artifacts, blocks
from .measure import diagnostics
from .store.artifacts import ArtifactError, Superpixels, provenance
from .data.datasets import VOID, Dataset, open_dataset

if TYPE_CHECKING:
    from .method.sieving import SieveSpec
    from .learning.training import TrainSpec

# torch and the models are imported by the stages that run a model: merge, acquire
# and query start in a fraction of a second without them.

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


def _write_superpixels(ds: Dataset, local_map_of, spec: dict, what: str,
                       names_in: list[str], out: str, extra=dict) -> dict:
    """Superpixel maps, areas and adjacency of some pool images, written image by image.
    `extra()` gives attributes known only at the end. Returns the file's attributes (the
    writer adds the sizes achieved when it closes)."""
    attrs = provenance("superpixelize", spec, superpixel_spec=spec, classes=list(ds.classes),
                       dataset=ds.identity())
    progress = Progress(what, len(names_in))
    with artifacts.superpixel_writer(out, attrs) as w:
        for k, name in enumerate(names_in):
            local = local_map_of(name)
            n = int(local.max()) + 1
            w.add(name, local, n, np.bincount(local.ravel(), minlength=n),
                  superpixels.adjacency(local))
            progress(k + 1)
        w.rows.attrs.update(extra())
    return w.rows.attrs


def superpixelize(dataset_cfg: dict, spec: superpixels.SeedsSpec, out: str, shard: int = 0,
                  n_shards: int = 1) -> dict:
    """SEEDS or SLIC base superpixels of the pool (or of one shard of it, to be gathered);
    records the algorithm, the size asked for and the size got."""
    ds = dataset_from(dataset_cfg)
    lo, hi = shard_range(len(ds.pool), shard, n_shards)
    ds.check_files(ds.pool[lo:hi])
    requested = []

    def superpixel_map(name):
        image = ds.read_image(name)
        requested.append(superpixels.requested_per_image(image.shape, spec))
        return superpixels.superpixelize_image(image, spec)

    extra = dict(target_size=spec.size, shard=shard, n_shards=n_shards, algorithm=spec.algorithm)
    if spec.algorithm == "slic":
        extra["region_size"] = spec.slic_region_size()
    attrs = _write_superpixels(
        ds, superpixel_map, {"source": spec.algorithm, **spec.as_dict()}, "superpixelize",
        ds.pool[lo:hi], out,
        extra=lambda: dict(requested_per_image=int(np.median(requested)) if requested else 0,
                           **extra))
    log.info("superpixelize: %s set out with %d superpixels per image (target size %d px); "
             "got %.1f per image, mean size %.1f px", spec.algorithm.upper(),
             attrs["requested_per_image"], spec.size, attrs["achieved_per_image"],
             attrs["achieved_mean_size"])
    return attrs


def superpixelize_oracle(dataset_cfg: dict, out: str) -> dict:
    """Oracle superpixels: connected components of each ground-truth map (void included).

    An upper bound that reads ground truth by design: every query is pure.
    """
    ds = dataset_from(dataset_cfg)
    ds.check_files(ds.pool, labels=True)
    attrs = _write_superpixels(
        ds, lambda name: superpixels.connected_relabel(ds.read_label(name)),
        {"source": "oracle"}, "superpixelize (oracle)", ds.pool, out)
    log.info("superpixelize: oracle superpixels, %.1f per image, mean size %.1f px",
             attrs["achieved_per_image"], attrs["achieved_mean_size"])
    return attrs


def _check_shards(paths: list[str], attrs: list) -> None:
    """Shard files given in order, all of one split."""
    for k, (path, a) in enumerate(zip(paths, attrs)):
        if int(a.get("shard", 0)) != k or int(a.get("n_shards", 1)) != len(paths):
            raise ArtifactError(f"{path}: is shard {a.get('shard')} of {a.get('n_shards')}, "
                                f"expected {k} of {len(paths)}")


def gather_superpixels(shard_paths: list[str], out: str) -> dict:
    """One pool-wide superpixel file from its shards, ids renumbered as if made in one job;
    copied image by image."""
    with contextlib.ExitStack() as stack:
        parts = [stack.enter_context(artifacts.open_superpixels(p)) for p in shard_paths]
        _check_shards(shard_paths, [part.attrs for part in parts])
        artifacts.check_same("superpixel spec", shard_paths,
                             [p.attrs["superpixel_spec"] for p in parts])
        attrs = dict(parts[0].attrs)
        attrs.update(shard=0, n_shards=1, gathered_from=len(parts))
        with artifacts.superpixel_writer(out, attrs) as w:
            for part in parts:
                for i in range(part.n_images):
                    lo, hi = int(part.sp_offset[i]), int(part.sp_offset[i + 1])
                    w.add(part.names[i], part.local_map(i), hi - lo, part.area[lo:hi],
                          part.edges_of(i, i + 1) - lo)
    return w.rows.attrs


def gather_table(shard_paths: list[str], stage: str, out: str,
                 block_rows: int = blocks.DEFAULT_BLOCK_ROWS) -> None:
    """Concatenate the row blocks of a per-superpixel table made in shards, block by block."""
    with contextlib.ExitStack() as stack:
        files = [stack.enter_context(artifacts.open_h5(p, stage)) for p in shard_paths]
        _check_shards(shard_paths, [f.attrs for f in files])
        attrs = dict(files[0].attrs)
        attrs.update(shard=0, n_shards=1, gathered_from=len(files))
        with artifacts.table_writer(out, stage, attrs) as rows:
            for key in files[0].keys():
                total = sum(f[key].shape[0] for f in files)
                rows.create(key, (total,) + files[0][key].shape[1:], files[0][key].dtype)
                at = 0
                for f in files:
                    for lo in range(0, f[key].shape[0], block_rows):
                        block = f[key][lo:lo + block_rows]
                        rows.put(key, at, block)
                        at += len(block)


def _check_pool(ds: Dataset, sp: Superpixels, sp_path: str) -> None:
    if list(sp.names) != list(ds.pool):
        raise ArtifactError(f"{sp_path}: made for another pool than the dataset's "
                            f"({len(sp.names)} vs {len(ds.pool)} images); rerun superpixelize")
    classes = artifacts.read_attrs(sp_path).get("classes")
    if classes is not None and json.loads(classes) != list(ds.classes):
        raise ArtifactError(f"{sp_path}: made under classes {classes}, the dataset has "
                            f"{list(ds.classes)}; rerun superpixelize")


def oracle_table(dataset_cfg: dict, sp_path: str, out: str,
                 allow_absent_classes: bool = False) -> None:
    """Ground-truth label histogram (void last) of every base superpixel, image by image.

    It reads every pool label, so it also refuses, before anything downstream runs, a pool in
    which a declared class never occurs (masks read with the wrong values, e.g. 0/255 masks
    whose 255 is taken for void), unless `allow_absent_classes`; the file is then not written.
    """
    from .data.dataset_check import check_pool_classes

    ds = dataset_from(dataset_cfg)
    with artifacts.open_superpixels(sp_path) as sp:
        _check_pool(ds, sp, sp_path)
        ds.check_files(list(sp.names), labels=True)
        attrs = provenance("oracle_table", superpixel_spec=sp.attrs["superpixel_spec"],
                           classes=list(ds.classes))
        progress = Progress("oracle table", sp.n_images)
        totals = np.zeros(ds.n_classes + 1, np.int64)
        with artifacts.table_writer(out, "oracle_table", attrs, sp.n_superpixels,
                                    ds.n_classes) as rows:
            for i, name in enumerate(sp.names):
                label = ds.read_label(name)
                if label.shape != tuple(sp.shapes[i]):
                    raise ArtifactError(f"{ds.label_path(name)}: label is {label.shape} but "
                                        f"its superpixels are {tuple(sp.shapes[i])}")
                lo, hi = int(sp.sp_offset[i]), int(sp.sp_offset[i + 1])
                hist = oracle.label_histograms(label, sp.local_map(i), hi - lo, ds.n_classes)
                rows.put("gt_hist", lo, hist)
                totals += hist.sum(axis=0)
                progress(i + 1)
            warning = check_pool_classes(ds, totals, sp.n_images, allow_absent_classes)
            if warning:
                log.warning("%s (allowed: dataset.allow_absent_classes is true)", warning)
            log.info("oracle table: pool pixels per class %s, void %d",
                     dict(zip(ds.classes, totals[:-1].tolist())), int(totals[-1]))


# ------------------------------------------------------------------ the warm-up draw


QUERY_COLUMNS = ["query", "round", "region", "image", "image_name", "n_base", "size", "score",
                 "uncertainty", "predicted"]


def draw_warmup(sp_path: str, budget: int, seed: int, trial: int, out: str) -> pd.DataFrame:
    """Round 0: B base superpixels uniformly at random; depends only on the trial's seed."""
    rng = np.random.default_rng(derive_seed(seed, trial, 0, 1))
    with artifacts.open_superpixels(sp_path) as sp:
        m = sp.n_superpixels
        if budget > m:
            log.warning("warm-up budget %d exceeds the pool's %d superpixels; taking all",
                        budget, m)
        pick = rng.choice(m, size=min(budget, m), replace=False)
        image = sp.image_of_ids(pick)
        size = np.zeros(len(pick), np.int64)
        for a, b in blocks.image_blocks(sp.sp_offset):
            lo, hi = int(sp.sp_offset[a]), int(sp.sp_offset[b])
            sel = np.flatnonzero((pick >= lo) & (pick < hi))
            size[sel] = sp.area[lo:hi][pick[sel] - lo]
        names = sp.names
    table = pd.DataFrame({
        "query": np.arange(len(pick)), "round": 0, "region": pick, "image": image,
        "image_name": names[image], "n_base": 1, "size": size, "score": np.nan,
        "uncertainty": np.nan, "predicted": -1})
    table.attrs = {}
    artifacts.write_csv(out, table[QUERY_COLUMNS])
    return table


# ------------------------------------------------------------------ predict


def predict(dataset_cfg: dict, sp_path: str, model_path: str, out: str, device: str = "auto",
            threads: int = 0, batch_size: int = 8, shard: int = 0, n_shards: int = 1,
            features_path: str | None = None) -> None:
    """One forward pass over the pool (or one shard of it), reduced to per base superpixel
    statistics, written image by image."""
    from .learning.inference import Predictor, torch_setup

    ds = dataset_from(dataset_cfg)
    dev = torch_setup(threads, device)
    with Predictor(model_path, ds, dev, features_path, batch_size) as predictor, \
            artifacts.open_superpixels(sp_path) as sp:
        _check_pool(ds, sp, sp_path)
        lo, hi = shard_range(sp.n_images, shard, n_shards)
        attrs = provenance("predict", superpixel_spec=sp.attrs["superpixel_spec"],
                           classes=list(ds.classes), model=str(model_path),
                           model_round=int(predictor.meta.get("round", -1)), shard=shard,
                           n_shards=n_shards)
        first, rows_total = int(sp.sp_offset[lo]), int(sp.sp_offset[hi] - sp.sp_offset[lo])
        with artifacts.table_writer(out, "predict", attrs, rows_total, ds.n_classes) as rows:
            progress = Progress("predict", hi - lo)
            for i, probs in enumerate(predictor.probs(sp.names[lo:hi]), start=lo):
                a, b = int(sp.sp_offset[i]), int(sp.sp_offset[i + 1])
                stats = statistics.superpixel_statistics(probs, sp.local_map(i), b - a)
                for key in statistics.STAT_KEYS:
                    rows.put(key, a - first, stats[key])
                progress(i + 1 - lo)


# ------------------------------------------------------------------ merge


def _check_stats(path: str, attrs: dict, n_rows: int, sp: Superpixels, sp_path: str) -> None:
    artifacts.check_same("superpixel spec", [sp_path, path],
                         [sp.attrs["superpixel_spec"], attrs["superpixel_spec"]])
    if n_rows != sp.n_superpixels:
        raise ArtifactError(f"{path}: {n_rows} rows but {sp_path} has "
                            f"{sp.n_superpixels} superpixels; rerun predict")


def _unlabelled(m: int) -> dict:
    """The labelled set before any query: -1 everywhere, in the stored dtypes."""
    return {key: np.full(m, -1, dtype)
            for key, (dtype, _) in artifacts.TABLE_COLUMNS["query"].items()}


class _Rows:
    """Row blocks of an optional per-superpixel table: the stored rows, or the value a
    missing table stands for (no labels yet, no merging)."""

    def __init__(self, datasets: dict | None, default):
        self.datasets, self.default = datasets, default

    def __call__(self, key: str, lo: int, hi: int) -> np.ndarray:
        if self.datasets is None:
            return self.default(key, lo, hi)
        return self.datasets[key][lo:hi]


@contextlib.contextmanager
def _open_labelled(path: str | None, m: int):
    if path is None:
        yield _Rows(None, lambda key, lo, hi: _unlabelled(hi - lo)[key]), None
        return
    with artifacts.open_table(path, "query", ("label", "query", "round")) as (ds, attrs):
        if ds["label"].shape[0] != m:
            raise ArtifactError(f"{path}: {ds['label'].shape[0]} rows, expected {m}; "
                                "rerun query")
        yield _Rows(ds, None), attrs


@contextlib.contextmanager
def _open_regions(path: str | None, m: int):
    if path is None:
        yield _Rows(None, lambda key, lo, hi: np.arange(lo, hi, dtype=np.int64))
        return
    with artifacts.open_table(path, "merge", ("region",)) as (ds, _):
        if ds["region"].shape[0] != m:
            raise ArtifactError(f"{path}: {ds['region'].shape[0]} rows, expected {m}; "
                                "rerun merge")
        yield _Rows(ds, None)


def _block_stats(stats: dict, lo: int, hi: int, keys=statistics.STAT_KEYS) -> dict:
    out = {}
    for k in keys:
        value = stats[k][lo:hi]
        out[k] = value.astype(np.float64) if value.dtype.kind == "f" else value.astype(np.int64)
    return out


def merge(sp_path: str, stats_path: str, labelled_path: str, spec: merging.MergeSpec,
          out: str, block_rows: int = blocks.DEFAULT_BLOCK_ROWS) -> None:
    """Merged region (global id of its seed) of every base superpixel.

    Streams the pool in blocks of whole images (edges never cross images): memory follows
    the block size, not the pool.
    """
    with contextlib.ExitStack() as stack:
        sp = stack.enter_context(artifacts.open_superpixels(sp_path))
        m = sp.n_superpixels
        stats, sattrs = stack.enter_context(
            artifacts.open_table(stats_path, "predict", ("count", "prob_sum", "u_sum")))
        _check_stats(stats_path, sattrs, stats["count"].shape[0], sp, sp_path)
        labelled, _ = stack.enter_context(_open_labelled(labelled_path, m))
        attrs = provenance("merge", spec.as_dict(), superpixel_spec=sp.attrs["superpixel_spec"])
        rows = stack.enter_context(artifacts.table_writer(out, "merge", attrs, m))
        progress = Progress(f"merge ({spec.mode})", sp.n_images)
        n_regions = 0
        for a, b in blocks.image_blocks(sp.sp_offset, block_rows):
            lo, hi = int(sp.sp_offset[a]), int(sp.sp_offset[b])
            block = _block_stats(stats, lo, hi, ("count", "prob_sum", "u_sum"))
            count = np.maximum(block["count"], 1)
            image = np.repeat(np.arange(b - a), np.diff(sp.sp_offset[a:b + 1]))
            region = merging.merge_image(block["prob_sum"] / count[:, None],
                                         block["u_sum"] / count, sp.edges_of(a, b) - lo,
                                         labelled("label", lo, hi) >= 0, spec, image)
            n_regions += int((region == np.arange(hi - lo)).sum())  # one seed per region
            rows.put("region", lo, lo + region)
            progress(b)
        rows.attrs["n_regions"] = n_regions
    log.info("merge: %d base superpixels -> %d regions (%.2f per region)", m, n_regions,
             m / max(n_regions, 1))


# ------------------------------------------------------------------ acquire


# What scoring reads: no class probabilities (a fifth of the predict file's bytes remain).
ACQUIRE_KEYS = ("count", "u_sum", "entropy_sum", "pred_hist")


def acquire(sp_path: str, stats_path: str, merged_path: str, labelled_path: str,
            spec: acquisition.AcquireSpec, budget: int, seed: int, trial: int, round: int,
            out: str, block_rows: int = blocks.DEFAULT_BLOCK_ROWS) -> pd.DataFrame:
    """Top-B regions by the acquisition score. Reads no ground truth.

    One pass over the pool in blocks of whole images (a region never spans two images):
    memory holds a block and the B best candidates of each predicted class.
    """
    if budget <= 0:
        raise ValueError(f"budget {budget}: each round must ask at least one query")
    tie_seed = derive_seed(seed, trial, round, 2)
    with contextlib.ExitStack() as stack:
        sp = stack.enter_context(artifacts.open_superpixels(sp_path))
        m = sp.n_superpixels
        stats, sattrs = stack.enter_context(
            artifacts.open_table(stats_path, "predict", ACQUIRE_KEYS))
        _check_stats(stats_path, sattrs, stats["count"].shape[0], sp, sp_path)
        regions = stack.enter_context(_open_regions(merged_path, m))
        labelled, _ = stack.enter_context(_open_labelled(labelled_path, m))
        top = acquisition.PoolTopB(spec, stats["pred_hist"].shape[1], budget)
        progress = Progress("acquire", sp.n_images)
        for a, b in blocks.image_blocks(sp.sp_offset, block_rows):
            lo, hi = int(sp.sp_offset[a]), int(sp.sp_offset[b])
            reps, group = np.unique(regions("region", lo, hi), return_inverse=True)
            region_stats = statistics.sum_rows(_block_stats(stats, lo, hi, ACQUIRE_KEYS),
                                               group, len(reps))
            count = region_stats["count"]
            safe = np.maximum(count, 1)
            # A region holding any labelled base superpixel is never asked again (merging
            # keeps labelled ones apart; this also covers regions from other merge rules).
            taken = labelled("label", lo, hi) >= 0
            candidate = np.bincount(group, weights=taken, minlength=len(reps)) == 0
            top.add({"rep": reps, "count": count, "u": region_stats["u_sum"] / safe,
                     "entropy": region_stats["entropy_sum"] / safe,
                     "dominant": acquisition.dominant_prediction(region_stats["pred_hist"]),
                     "key": acquisition.tiebreak_keys(reps, tie_seed),
                     "n_base": np.bincount(group, minlength=len(reps))}, candidate)
            progress(b)
        names = sp.names
        image_of = sp.image_of_ids
    if budget > top.n_candidates:
        log.warning("budget %d exceeds the %d regions left unlabelled; spending %d", budget,
                    top.n_candidates, top.n_candidates)
    kept, score = top.finish()
    image = image_of(kept["rep"])
    table = pd.DataFrame({
        "query": np.arange(len(score)), "round": round, "region": kept["rep"], "image": image,
        "image_name": names[image], "n_base": kept["n_base"], "size": kept["count"],
        "score": score, "uncertainty": kept["u"], "predicted": kept["dominant"]})
    artifacts.write_csv(out, table[QUERY_COLUMNS])
    return table


# ------------------------------------------------------------------ query (the oracle)


def query_members(queries_path: str, reps: np.ndarray, regions, prev, m: int,
                   block_rows: int, gt_hist=None, n_classes: int = 0):
    """Base superpixels of every query: (global ids, query index), sorted by id; with
    `gt_hist` also each query's ground-truth histogram. Refuses a query that covers a
    superpixel labelled in an earlier round (nothing is paid twice)."""
    by_rep = np.argsort(reps)
    sorted_reps = reps[by_rep]
    hist = np.zeros((len(reps), n_classes + 1), np.int64) if gt_hist is not None else None
    member_ids, member_q = [], []
    for lo in range(0, m, block_rows):
        hi = min(m, lo + block_rows)
        region = regions("region", lo, hi)
        pos = np.clip(np.searchsorted(sorted_reps, region), 0, max(len(reps) - 1, 0))
        inside = np.flatnonzero(sorted_reps[pos] == region) if len(reps) else \
            np.zeros(0, np.int64)
        q = by_rep[pos[inside]]
        if (prev("label", lo, hi)[inside] >= 0).any():
            raise ArtifactError(f"{queries_path}: a query covers superpixels labelled in "
                                "an earlier round; rerun acquire")
        if hist is not None and len(inside):
            block_hist = np.asarray(gt_hist[lo:hi])[inside].astype(np.int64)
            np.add.at(hist, q, block_hist)
        member_ids.append(lo + inside)
        member_q.append(q)
    member_ids = np.concatenate(member_ids) if member_ids else np.zeros(0, np.int64)
    member_q = np.concatenate(member_q) if member_q else np.zeros(0, np.int64)
    return member_ids, member_q, hist


def write_answers(queries: pd.DataFrame, answer: np.ndarray, member_ids: np.ndarray,
                  member_q: np.ndarray, prev, prev_clicks: int, m: int, classes: list[str],
                  superpixel_spec, round: int, out_answers: str, out_labelled: str,
                  block_rows: int = blocks.DEFAULT_BLOCK_ROWS, extra_columns: dict | None = None,
                  extra_attrs: dict | None = None) -> pd.DataFrame:
    """The given answer of each query -> answers.csv and labelled.h5 (the previous labelled
    set with this round's members added). Shared by the simulated and the human oracle, so
    both write the same format; `extra_columns` / `extra_attrs` add provenance only."""
    n_classes = len(classes)
    answer = np.asarray(answer, np.int64)
    # One click per query, numbered from the first: the next id is the clicks so far.
    qid = prev_clicks + np.arange(len(queries))
    clicks_total = prev_clicks + len(queries)
    attrs = provenance("query", superpixel_spec=superpixel_spec, classes=list(classes),
                       round=round, clicks_total=clicks_total, void_label=n_classes,
                       **(extra_attrs or {}))
    with artifacts.table_writer(out_labelled, "query", attrs, m) as rows:
        for lo in range(0, m, block_rows):
            hi = min(m, lo + block_rows)
            a, b = np.searchsorted(member_ids, [lo, hi])
            ids, q = member_ids[a:b] - lo, member_q[a:b]
            for key, value in (("label", answer[q]), ("query", qid[q]), ("round", round)):
                block = np.array(prev(key, lo, hi))
                block[ids] = value
                rows.put(key, lo, block)
        names = list(classes) + ["void"]
        answers = queries.assign(query_id=qid, label=answer,
                                 label_name=[names[x] for x in answer], clicks=1,
                                 **(extra_columns or {}))
        artifacts.write_csv(out_answers, answers)
    void = int((answer == n_classes).sum())
    log.info("query: %d clicks this round (%d void-dominant, nothing learnt from them), "
             "%d in total", len(answers), void, clicks_total)
    return answers


def query(queries_path: str, table_path: str, merged_path: str | None,
          prev_labelled_path: str | None, classes: list[str], round: int,
          out_answers: str, out_labelled: str,
          block_rows: int = blocks.DEFAULT_BLOCK_ROWS) -> pd.DataFrame:
    """Ask the simulated oracle for each query's dominant label; add them to the labelled set.

    Two passes in row blocks: the first gathers each query's ground-truth histogram (and
    checks nothing is paid twice), the second writes the new labelled set; memory holds a
    block and the queried superpixels, not the pool.
    """
    queries = artifacts.read_csv(queries_path)
    reps = queries["region"].to_numpy().astype(np.int64)
    with contextlib.ExitStack() as stack:
        table, tattrs = stack.enter_context(
            artifacts.open_table(table_path, "oracle_table", ("gt_hist",)))
        gt_hist = table["gt_hist"]
        m, n_classes = gt_hist.shape[0], gt_hist.shape[1] - 1
        if n_classes != len(classes):
            raise ArtifactError(f"{table_path}: histograms have {n_classes} classes, the "
                                f"dataset {len(classes)}; rerun oracle_table")
        regions = stack.enter_context(_open_regions(merged_path, m))
        prev, pattrs = stack.enter_context(_open_labelled(prev_labelled_path, m))
        prev_clicks = int(pattrs["clicks_total"]) if pattrs is not None else 0
        member_ids, member_q, hist = query_members(queries_path, reps, regions, prev, m,
                                                    block_rows, gt_hist, n_classes)
        return write_answers(queries, oracle.dominant_label(hist), member_ids, member_q, prev,
                             prev_clicks, m, classes, tattrs["superpixel_spec"], round,
                             out_answers, out_labelled, block_rows)


# ------------------------------------------------------------------ sieve


def sieve(dataset_cfg: dict, sp_path: str, labelled_path: str, model_path: str | None,
          prev_sieved_path: str | None, spec: SieveSpec, round: int, out: str,
          device: str = "auto", threads: int = 0, batch_size: int = 8,
          features_path: str | None = None) -> dict:
    """Labelled pixels of every queried region, each kept or sieved out (eq. 8-9).

    Without a model (round 0) every pixel of a non-void region is kept.
    """
    from .method import sieving

    ds = dataset_from(dataset_cfg)
    state, lattrs = artifacts.read_table(labelled_path, "query", ("label", "query", "round"))
    void_label = int(lattrs["void_label"])
    model = None
    if model_path is not None and spec.threshold != "none":
        from .learning.inference import Predictor, torch_setup

        model = Predictor(model_path, ds, torch_setup(threads, device), features_path,
                          batch_size)
    reuse = {}
    if spec.scope == "new" and prev_sieved_path is not None:
        prev, _ = artifacts.read_table(prev_sieved_path, "sieve")
        reuse = {"pixel": prev["pixel"], "kept": prev["kept"]}
    n_q = int(state["query"].max()) + 1 if (state["query"] >= 0).any() else 0
    q_round = np.full(n_q, -1)
    q_round[state["query"][state["query"] >= 0]] = state["round"][state["query"] >= 0]
    with artifacts.open_superpixels(sp_path) as sp:
        useful = (state["label"] >= 0) & (state["label"] != void_label)
        images = np.unique(sp.image_of()[useful])
        pixels, labels, queries = [], [], []
        for i in images:
            gid = sp.sp_offset[i] + sp.local_map(i).ravel()
            lab = state["label"][gid]
            inside = np.flatnonzero((lab >= 0) & (lab != void_label))
            pixels.append(sp.pixel_offset[i] + inside)
            labels.append(lab[inside])
            queries.append(state["query"][gid[inside]])
        pixel = np.concatenate(pixels) if pixels else np.zeros(0, np.int64)
        label = np.concatenate(labels).astype(np.uint8) if labels else np.zeros(0, np.uint8)
        qid = np.concatenate(queries).astype(np.int64) if queries else np.zeros(0, np.int64)
        # The model is run only where a confidence can matter: regions large enough to be
        # sieved (smaller ones are kept whole) and not keeping an earlier decision.
        size = np.bincount(qid, minlength=n_q)
        judged = size >= spec.min_size
        if reuse:
            judged &= q_round >= round
        conf = np.full(len(pixel), np.nan)
        if model is not None:
            starts = np.concatenate([[0], np.cumsum([len(p) for p in pixels])])
            need = [k for k in range(len(images)) if judged[queries[k]].any()]
            log.info("sieve: running the model on %d of the %d labelled images (the others "
                     "hold only regions under %d px or decided earlier)", len(need),
                     len(images), spec.min_size)
            progress = Progress("sieve: model", len(need))
            stream = model.probs(sp.names[images[k]] for k in need)
            for done, (k, probs) in enumerate(zip(need, stream), start=1):
                flat = probs.reshape(probs.shape[0], -1)
                local = pixels[k] - sp.pixel_offset[images[k]]
                conf[starts[k]:starts[k + 1]] = flat[labels[k], local]
                progress(done)
    thresholds = np.full(n_q, -np.inf)
    if model is None:
        kept = np.ones(len(pixel), bool)
    else:
        model.close()
        kept, thresholds = sieving.sieve_regions(conf, qid, n_q, spec)
        if reuse:  # scope "new": earlier rounds' regions keep their earlier decision
            old = q_round[qid] < round
            pos = np.searchsorted(reuse["pixel"], pixel[old])
            kept[old] = reuse["kept"][np.clip(pos, 0, len(reuse["kept"]) - 1)]
    log.info("sieve: %d labelled pixels in %d regions, kept %d (%.1f%%)", len(pixel), n_q,
             int(kept.sum()), 100 * kept.mean() if len(kept) else 0)
    attrs = provenance("sieve", spec.as_dict(), superpixel_spec=lattrs["superpixel_spec"],
                       classes=lattrs["classes"], round=round,
                       knee_search=sieving.KNEE_SEARCH, model=str(model_path))
    arrays = {"pixel": pixel, "label": label, "query": qid, "kept": kept, "confidence": conf,
              "threshold": thresholds}
    artifacts.write_table(out, "sieve", arrays, attrs)
    return arrays


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


def train_stage(dataset_cfg: dict, sp_path: str | None, sieved_path: str | None,
                spec: TrainSpec, seed: int, trial: int, round: int, init_path: str | None,
                out_model: str, out_log: str, features_path: str | None = None,
                full: bool = False) -> None:
    """Train theta_t on the sieved labels (eq. 10); with `full`, on every pool pixel's ground
    truth instead (the fully supervised ceiling, method Full), by the same recipe."""
    import torch

    from .learning.inference import check_encoder, torch_setup
    from .learning.models import build_model, load_checkpoint, save_checkpoint
    from .learning.training import seed_everything, train, train_on_features

    ds = dataset_from(dataset_cfg)
    if full:
        ds.check_files(ds.pool, labels=True)
        names = list(ds.pool)
        targets = [ds.read_label(n) for n in names]
        what = "every pool pixel's ground truth (Full)"
    else:
        sieved, _ = artifacts.read_table(sieved_path, "sieve", ("pixel", "label", "kept"))
        with artifacts.open_superpixels(sp_path) as sp:
            by_image = sparse_targets(sp, sieved)
            names = [sp.names[i] for i in by_image]
        targets = list(by_image.values())
        what = f"{int(sieved['kept'].sum())} labelled pixels"
    log.info("train: round %d, %s over %d images, %s for %d iterations", round, what,
             len(names), spec.model, spec.iterations)
    device = torch_setup(spec.threads, spec.device)
    seed_everything(derive_seed(seed, trial))  # same initial weights every round of a trial
    model = build_model(spec.model, ds.n_classes, spec.pretrained, encoder=spec.encoder)
    if spec.init == "previous" and init_path is not None:
        model, _ = load_checkpoint(init_path, ds.n_classes)
        model.train()
    log.info("train: on %s%s, mixed precision %s", device,
             f" ({torch.cuda.get_device_name(device)})" if device.type == "cuda" else "",
             "on" if spec.amp and device.type == "cuda" and not spec.uses_features else "off")
    progress = Progress("train", spec.iterations)
    report = lambda it, n, loss: progress(it, f", loss {loss:.4f}")  # noqa: E731
    order_seed = derive_seed(seed, trial, round, 3)
    if spec.uses_features:
        if features_path is None:
            raise ValueError("train.model feature_head trains on cached features: give "
                             "--features (the features stage's file)")
        with artifacts.open_features(features_path) as feats:
            check_encoder(features_path, feats.encoder, spec.encoder)
            taps = feats.rows(names)
        stacked = np.stack(targets) if targets else np.zeros((0, 1, 1), np.uint8)
        history = train_on_features(model, taps, stacked, spec, order_seed, device, report)
    else:
        images = [ds.read_image(n) for n in names]
        history = train(model, images, targets, spec, order_seed, device, progress=report)
    meta = {"model": spec.model, "n_classes": ds.n_classes, "classes": list(ds.classes),
            "round": round, "trial": trial, "seed": seed, "spec": spec.as_dict(),
            "full": full, "asal_version": artifacts.__version__}
    if spec.uses_features:
        meta["encoder"] = spec.encoder
    artifacts.write_csv(out_log, pd.DataFrame(history))
    save_checkpoint(out_model, model.cpu(), meta)


# ------------------------------------------------------------------ evaluate


def confusion(pred: np.ndarray, label: np.ndarray, n_classes: int) -> np.ndarray:
    valid = label != VOID
    idx = label[valid].astype(np.int64) * n_classes + pred[valid]
    return np.bincount(idx, minlength=n_classes ** 2).reshape(n_classes, n_classes)


def iou_from_confusion(conf: np.ndarray) -> np.ndarray:
    """Per-class IoU = TP / (TP + FP + FN) (rows: ground truth, columns: prediction).

    NaN (undefined) for a class with no ground-truth pixel, even where it is predicted: the
    field's convention (mmsegmentation's and HuggingFace's mean IoU), so that a class the
    evaluation split lacks is left out of the mean instead of counting as 0.
    """
    tp = np.diag(conf).astype(np.float64)
    present = conf.sum(1) > 0
    union = conf.sum(0) + conf.sum(1) - tp
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(present, tp / np.maximum(union, 1), np.nan)


def mean_iou(iou: np.ndarray) -> float | None:
    """mIoU over the classes whose IoU is defined; None when none is."""
    defined = ~np.isnan(iou)
    return float(iou[defined].mean()) if defined.any() else None


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
    confidence = sieved.get("confidence", np.full(n, np.nan))
    return {
        **diagnostics.sieve_quality(right, kept, confidence),
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


def round_diagnostics(sp_path: str, oracle_path: str, answers: pd.DataFrame | None,
                      merged_path: str | None = None, stats_path: str | None = None,
                      block_rows: int = blocks.DEFAULT_BLOCK_ROWS) -> dict:
    """Ground-truth diagnostics of one round, streamed over blocks of whole images: theta_{t-1}'s
    per-superpixel agreement with D(s) (from its statistics), the pixel-weighted purity of the
    pool's merged regions (and of its base superpixels, the no-merging reference), and each
    query's purity against its size."""
    from .measure import diagnostics as dg

    with contextlib.ExitStack() as stack:
        sp = stack.enter_context(artifacts.open_superpixels(sp_path))
        gt, _ = stack.enter_context(artifacts.open_table(oracle_path, "oracle_table",
                                                         ("gt_hist",)))
        regions = stack.enter_context(_open_regions(merged_path, sp.n_superpixels))
        stats = None
        if stats_path is not None:
            stats, _ = stack.enter_context(artifacts.open_table(stats_path, "predict",
                                                                ("pred_hist",)))
        asked = np.sort(answers["region"].to_numpy(np.int64)) if answers is not None else None
        asked_hist = np.zeros((0 if asked is None else len(asked), gt["gt_hist"].shape[1]),
                              np.int64)
        counts = np.zeros(6, np.int64)  # agree, counted, merged pure, merged px, base pure, px
        for a, b in blocks.image_blocks(sp.sp_offset, block_rows):
            lo, hi = int(sp.sp_offset[a]), int(sp.sp_offset[b])
            hist = np.asarray(gt["gt_hist"][lo:hi]).astype(np.int64)
            if stats is not None:
                counts[0:2] += dg.agreement_counts(stats["pred_hist"][lo:hi], hist)
            ids, region_hist = dg.region_histograms(regions("region", lo, hi), hist)
            counts[2:4] += dg.purity_counts(region_hist)
            counts[4:6] += dg.purity_counts(hist)
            if asked is not None and len(asked):
                pos = np.clip(np.searchsorted(asked, ids), 0, len(asked) - 1)
                hit = asked[pos] == ids
                asked_hist[pos[hit]] += region_hist[hit]
    out = {
        "model_agreement": counts[0] / counts[1] if stats is not None and counts[1] else None,
        "merged_purity": counts[2] / counts[3] if counts[3] else None,
        "base_purity": counts[4] / counts[5] if counts[5] else None,
    }
    if answers is not None:
        purity = dg.region_purity(asked_hist)
        order = np.searchsorted(asked, answers["region"].to_numpy(np.int64))
        out["query_purity"] = float(np.nanmean(purity)) if np.isfinite(purity).any() else None
        # [size in px, purity] of every query, for the purity-against-size plot
        out["queries_size_purity"] = [
            [int(z), None if np.isnan(p) else round(float(p), 4)]
            for z, p in zip(answers["size"].to_numpy(), purity[order])]
    return {k: (float(v) if isinstance(v, (np.floating, np.integer)) else v)
            for k, v in out.items()}


def evaluate(dataset_cfg: dict, model_path: str, labelled_path: str | None, meta: dict,
             out: str, device: str = "auto", threads: int = 0, sp_path: str | None = None,
             sieved_path: str | None = None, answers_path: str | None = None,
             features_path: str | None = None, oracle_path: str | None = None,
             merged_path: str | None = None, prev_stats_path: str | None = None,
             without_labels: bool = False) -> dict:
    """mIoU on the evaluation split, plus (when given the round's labels) their quality and
    the round's diagnostics. Without a labelled set (method Full) no click was counted.

    `without_labels` (the human oracle): an evaluation split without labels, or none, skips
    evaluation with a line saying so, and a pool without labels skips the label quality."""
    from .learning.inference import Predictor, torch_setup

    ds = dataset_from(dataset_cfg)
    if without_labels:
        skipped = _no_evaluation_labels(ds, dataset_cfg)
        if skipped is not None:
            return _metrics_without_evaluation(ds, dataset_cfg, labelled_path, meta, out,
                                               answers_path, skipped)
    dev = torch_setup(threads, device)
    ds.check_files(ds.evaluation, labels=True)
    conf = np.zeros((ds.n_classes, ds.n_classes), np.int64)
    progress = Progress("evaluate", len(ds.evaluation))
    with Predictor(model_path, ds, dev, features_path) as predictor:
        for k, probs in enumerate(predictor.probs(ds.evaluation)):
            conf += confusion(probs.argmax(0), ds.read_label(ds.evaluation[k]), ds.n_classes)
            progress(k + 1)
    iou = iou_from_confusion(conf)
    clicks = (int(artifacts.read_attrs(labelled_path)["clicks_total"])
              if labelled_path is not None else None)
    absent = [c for c, v in zip(ds.classes, iou) if np.isnan(v)]
    metrics = {
        **meta, "clicks": clicks, "miou": mean_iou(iou),
        "pixel_accuracy": float(np.trace(conf) / max(conf.sum(), 1)),
        "iou": {c: (None if np.isnan(v) else float(v)) for c, v in zip(ds.classes, iou)},
        # no ground-truth pixel in the evaluation split: IoU undefined, left out of miou
        "classes_absent": absent,
        "evaluation_split": dataset_cfg.get("evaluation_split", "val"),
        "n_evaluation_images": len(ds.evaluation), "asal_version": artifacts.__version__,
    }
    answers = artifacts.read_csv(answers_path) if answers_path is not None else None
    if answers is not None:
        metrics.update(query_summary(answers, list(ds.classes) + ["void"]))
    if sieved_path is not None and sp_path is not None:
        with artifacts.open_superpixels(sp_path) as sp:
            if without_labels and not all(ds.label_path(n).exists() for n in sp.names):
                log.info("evaluate: the pool has no labels; label purity and sieve recall "
                         "are not computed")
            else:
                sieved, _ = artifacts.read_table(sieved_path, "sieve",
                                                 ("pixel", "label", "kept", "confidence"))
                metrics.update(label_quality(sp, sieved,
                                             lambda i: ds.read_label(sp.names[i])))
    if labelled_path is not None:
        metrics.update(annotation_time(labelled_path))
    if oracle_path is not None and sp_path is not None:
        metrics.update(round_diagnostics(sp_path, oracle_path, answers, merged_path,
                                         prev_stats_path))
    if absent:
        log.info("evaluate: %d classes have no ground-truth pixel in the evaluation split and "
                 "are left out of mIoU: %s", len(absent), ", ".join(absent))
    log.info("evaluate: mIoU %s after %s clicks",
             "undefined" if metrics["miou"] is None else f"{metrics['miou']:.4f}",
             "all (fully supervised)" if clicks is None else clicks)
    artifacts.write_json(out, metrics)
    return metrics


def annotation_time(labelled_path: str) -> dict:
    """Annotator seconds of a human oracle's labelled set (nothing for the simulated one)."""
    attrs = artifacts.read_attrs(labelled_path)
    if attrs.get("oracle") != "human":
        return {}
    return {"oracle": "human", "round_seconds": float(attrs.get("round_seconds", 0.0)),
            "annotation_seconds": float(attrs.get("seconds_total", 0.0))}


def _no_evaluation_labels(ds: Dataset, dataset_cfg: dict) -> str | None:
    """Why there is nothing to evaluate on (no evaluation split, or it has no labels)."""
    split = dataset_cfg.get("evaluation_split", "val")
    if not ds.evaluation:
        return f"no evaluation split (dataset.evaluation_split: {split})"
    missing = [n for n in ds.evaluation if not ds.label_path(n).exists()]
    if missing:
        return (f"the evaluation split {split!r} has no labels (e.g. {ds.label_path(missing[0])}"
                " is missing)")
    return None


def _metrics_without_evaluation(ds: Dataset, dataset_cfg: dict, labelled_path: str, meta: dict,
                                out: str, answers_path: str | None, why: str) -> dict:
    """metrics.json of a round that cannot be evaluated: clicks and annotator time only."""
    clicks = int(artifacts.read_attrs(labelled_path)["clicks_total"])
    metrics = {**meta, "clicks": clicks, "miou": None, "pixel_accuracy": None, "iou": None,
               "evaluation_split": dataset_cfg.get("evaluation_split", "val"),
               "n_evaluation_images": 0, "evaluation_skipped": why,
               "asal_version": artifacts.__version__}
    if answers_path is not None:
        metrics.update(query_summary(artifacts.read_csv(answers_path),
                                     list(ds.classes) + ["void"]))
    metrics.update(annotation_time(labelled_path))
    log.info("evaluate: skipped, %s; metrics.json has the clicks (%d) and annotator time only",
             why, clicks)
    artifacts.write_json(out, metrics)
    return metrics
