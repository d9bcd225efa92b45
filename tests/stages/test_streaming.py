"""Merge, acquire and query stream the pool in blocks of images; their outputs must not depend
on the block size and must equal a whole-pool computation of the same equations."""

import numpy as np
import pandas as pd
import pytest

from asal.data.scale_pool import PoolShape, grid_edges, write_pool
from asal.experiment.seeds_and_shards import derive_seed
from asal.method import acquisition, merging, oracle, statistics
from asal.stages.acquire import acquire
from asal.stages.merge import merge
from asal.stages.query import query
from asal.store import artifacts

SHAPE = PoolShape(n_images=5, grid=(6, 8), image=(24, 32), n_classes=4, labelled_share=0.1,
                  seed=3)
PER_IMAGE = SHAPE.per_image
# One image per block, two and a half images per block (blocks hold whole images), one block.
BLOCK_ROWS = [PER_IMAGE, int(2.5 * PER_IMAGE), 10 ** 9]


@pytest.fixture(scope="module")
def pool(tmp_path_factory):
    root = tmp_path_factory.mktemp("pool")
    paths = {k: str(root / f"{k}.h5") for k in ("superpixels", "stats", "oracle", "labelled")}
    write_pool(SHAPE, paths)
    return paths


def _whole(pool):
    sp = artifacts.read_superpixels(pool["superpixels"])
    stats, _ = artifacts.read_table(pool["stats"], "predict",
                                    statistics.STAT_KEYS + ("void_sum",))
    stats = {k: v.astype(np.float64) if v.dtype.kind == "f" else v.astype(np.int64)
             for k, v in stats.items()}
    labelled, _ = artifacts.read_table(pool["labelled"], "query", ("label", "query", "round"))
    return sp, stats, labelled


def test_grid_edges_are_a_sorted_planar_graph():
    edges = grid_edges((3, 4), np.random.default_rng(0))
    # 3x4 grid: 3*3 horizontal + 2*4 vertical + 2*3 diagonal edges
    assert len(edges) == 9 + 8 + 6
    assert (edges[:, 0] < edges[:, 1]).all()
    assert len(np.unique(edges, axis=0)) == len(edges)
    assert (np.lexsort((edges[:, 1], edges[:, 0])) == np.arange(len(edges))).all()


def test_pool_files_are_consistent(pool):
    sp, stats, labelled = _whole(pool)
    m = SHAPE.n_images * PER_IMAGE
    assert sp.n_superpixels == m and len(stats["count"]) == m
    np.testing.assert_array_equal(sp.area, stats["count"])
    np.testing.assert_array_equal(stats["pred_hist"].sum(1), stats["count"])
    gt, _ = artifacts.read_table(pool["oracle"], "oracle_table", ("gt_hist",))
    np.testing.assert_array_equal(gt["gt_hist"].sum(1), stats["count"])
    # every image's edges stay inside it
    image = sp.image_of()
    assert (image[sp.edges[:, 0]] == image[sp.edges[:, 1]]).all()
    np.testing.assert_array_equal(sp.edge_offset, np.searchsorted(sp.edges[:, 0], sp.sp_offset))
    assert (labelled["label"] >= 0).any()


@pytest.mark.parametrize("mode,seeds", [("greedy", "all"), ("greedy", "top"),
                                        ("greedy", "bottom"), ("components", "all")])
def test_merge_blocks_equal_per_image_merging(pool, tmp_path, mode, seeds):
    spec = merging.MergeSpec(mode=mode, epsilon=0.25, seeds=seeds,
                             seed_fraction=0.3 if seeds != "all" else 1.0)
    outs = []
    for k, rows in enumerate(BLOCK_ROWS):
        out = tmp_path / f"merged{k}.h5"
        merge(superpixels=pool["superpixels"], stats=pool["stats"], labelled=pool["labelled"],
              spec=spec, out=str(out), block_rows=rows)
        outs.append(artifacts.read_table(out, "merge", ("region",))[0]["region"])
    for other in outs[1:]:
        np.testing.assert_array_equal(outs[0], other)
    # Reference: each image alone, as the equations are stated.
    sp, stats, labelled = _whole(pool)
    count = np.maximum(stats["count"], 1)
    expected = np.arange(sp.n_superpixels)
    for i in range(sp.n_images):
        lo, hi = sp.sp_offset[i], sp.sp_offset[i + 1]
        e = sp.edges[(sp.edges[:, 0] >= lo) & (sp.edges[:, 0] < hi)] - lo
        expected[lo:hi] = lo + merging.merge_image(
            stats["prob_sum"][lo:hi] / count[lo:hi, None], stats["u_sum"][lo:hi] / count[lo:hi],
            e, labelled["label"][lo:hi] >= 0, spec)
    np.testing.assert_array_equal(outs[0], expected)
    assert len(np.unique(expected)) < sp.n_superpixels  # something merged
    attrs = artifacts.read_attrs(tmp_path / "merged0.h5")
    assert attrs["n_regions"] == len(np.unique(expected))


@pytest.mark.parametrize("function", acquisition.FUNCTIONS)
@pytest.mark.parametrize("normalize", ["none", "minmax", "authors"])
def test_acquire_blocks_equal_whole_pool_scores(pool, tmp_path, function, normalize):
    spec = acquisition.AcquireSpec(function=function, normalize=normalize)
    merged = tmp_path / "merged.h5"
    merge(superpixels=pool["superpixels"], stats=pool["stats"], labelled=pool["labelled"],
          spec=merging.MergeSpec(epsilon=0.25), out=str(merged))
    tables = []
    for k, rows in enumerate(BLOCK_ROWS):
        out = tmp_path / f"queries{k}.csv"
        acquire(superpixels=pool["superpixels"], stats=pool["stats"], merged=str(merged),
                labelled=pool["labelled"], spec=spec, budget=9, seed=4, trial=1, round=2, out=str(out), block_rows=rows)
        tables.append(pd.read_csv(out))
    for other in tables[1:]:
        pd.testing.assert_frame_equal(tables[0], other)
    # Reference: all regions of the pool at once.
    sp, stats, labelled = _whole(pool)
    region = artifacts.read_table(merged, "merge", ("region",))[0]["region"]
    reps, group = np.unique(region, return_inverse=True)
    rstats = statistics.sum_rows(stats, group, len(reps))
    score, u, dominant = acquisition.scores(rstats, spec)
    candidate = np.bincount(group, weights=labelled["label"] >= 0, minlength=len(reps)) == 0
    keys = acquisition.tiebreak_keys(reps, derive_seed(4, 1, 2, 2))
    pick = acquisition.select_top(score, candidate, 9, keys)
    got = tables[0]
    np.testing.assert_array_equal(got["region"], reps[pick])
    np.testing.assert_allclose(got["score"], score[pick], rtol=1e-12)
    np.testing.assert_array_equal(got["predicted"], dominant[pick])
    np.testing.assert_array_equal(got["size"], rstats["count"][pick])
    np.testing.assert_array_equal(got["image"], sp.image_of()[reps[pick]])


def test_acquire_budget_above_pool_spends_what_is_left(pool, tmp_path):
    out = tmp_path / "q.csv"
    acquire(superpixels=pool["superpixels"], stats=pool["stats"], merged=None,
            labelled=pool["labelled"], spec=acquisition.AcquireSpec(), budget=10 ** 6, seed=0, trial=0, round=1, out=str(out),
            block_rows=PER_IMAGE)
    _, _, labelled = _whole(pool)
    assert len(pd.read_csv(out)) == int((labelled["label"] < 0).sum())


def test_query_blocks_equal_whole_pool_oracle(pool, tmp_path):
    merged = tmp_path / "merged.h5"
    merge(superpixels=pool["superpixels"], stats=pool["stats"], labelled=pool["labelled"],
          spec=merging.MergeSpec(epsilon=0.25), out=str(merged))
    queries = tmp_path / "queries.csv"
    acquire(superpixels=pool["superpixels"], stats=pool["stats"], merged=str(merged),
            labelled=pool["labelled"], spec=acquisition.AcquireSpec(), budget=12, seed=0, trial=0, round=2, out=str(queries))
    classes = [f"class{k}" for k in range(SHAPE.n_classes)]
    results = []
    for k, rows in enumerate(BLOCK_ROWS):
        answers, labelled = tmp_path / f"answers{k}.csv", tmp_path / f"labelled{k}.h5"
        query(queries=str(queries), oracle_table=pool["oracle"], merged=str(merged),
              labelled=pool["labelled"], classes=classes, round=2, answers=str(answers),
              labelled_out=str(labelled), block_rows=rows)
        results.append((pd.read_csv(answers),
                        artifacts.read_table(labelled, "query", ("label", "query", "round"))))
    for other in results[1:]:
        pd.testing.assert_frame_equal(results[0][0], other[0])
        for key in ("label", "query", "round"):
            np.testing.assert_array_equal(results[0][1][0][key], other[1][0][key])
    # Reference: the dominant label of each queried region's summed histogram.
    _, _, before = _whole(pool)
    gt = artifacts.read_table(pool["oracle"], "oracle_table", ("gt_hist",))[0]["gt_hist"]
    region = artifacts.read_table(merged, "merge", ("region",))[0]["region"]
    answers, (after, attrs) = results[0]
    first = int(before["query"].max()) + 1
    for k, rep in enumerate(pd.read_csv(queries)["region"]):
        members = region == rep
        expected = oracle.dominant_label(gt[members].sum(0, keepdims=True))[0]
        assert answers["label"][k] == expected
        assert (after["label"][members] == expected).all()
        assert (after["query"][members] == first + k).all()
        assert (after["round"][members] == 2).all()
    untouched = ~np.isin(region, pd.read_csv(queries)["region"])
    for key in ("label", "query", "round"):
        np.testing.assert_array_equal(after[key][untouched], before[key][untouched])
    prev_clicks = artifacts.read_attrs(pool["labelled"])["clicks_total"]
    assert attrs["clicks_total"] == prev_clicks + 12
