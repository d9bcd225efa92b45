"""Image-wise stages split into shards give exactly what one job gives."""

from __future__ import annotations

import h5py
import numpy as np
import pytest
import torch

from asal.data import synthetic
from asal.experiment.seeds_and_shards import shard_range
from asal.learning.models import build_model, save_checkpoint
from asal.method.superpixels import SeedsSpec
from asal.stages.gather import gather_superpixels, gather_table
from asal.stages.predict import predict
from asal.stages.superpixelize import superpixelize
from asal.store.artifacts import ArtifactError


@pytest.fixture(scope="module")
def pool(tmp_path_factory):
    root = tmp_path_factory.mktemp("pool")
    synthetic.generate(root, n_pool=7, n_val=1, height=40, width=56, seed=3)
    return {"name": "synthetic", "root": str(root), "resize": 1.0}, root


def _read_all(path):
    with h5py.File(path) as f:
        return {k: f[k][()] for k in f}


def test_sharded_superpixelize_and_predict_equal_one_job(pool, tmp_path):
    dataset, _ = pool
    spec = SeedsSpec(size=32)
    whole = tmp_path / "whole.h5"
    superpixelize(dataset=dataset, spec=spec, out=str(whole))
    shards = [tmp_path / f"shard{k}.h5" for k in range(3)]
    for k, path in enumerate(shards):
        superpixelize(dataset=dataset, spec=spec, out=str(path), shard=k, shards=3)
    gathered = tmp_path / "gathered.h5"
    gather_superpixels(shard_files=[str(p) for p in shards], out=str(gathered))
    a, b = _read_all(whole), _read_all(gathered)
    assert a.keys() == b.keys()
    for key in a:
        np.testing.assert_array_equal(a[key], b[key], err_msg=key)

    torch.manual_seed(0)
    model = tmp_path / "model.pt"
    save_checkpoint(model, build_model("small_unet", 6),
                    {"model": "small_unet", "n_classes": 6, "round": 0})
    predict(dataset=dataset, superpixels=str(whole), model=str(model),
            out=str(tmp_path / "stats.h5"), device="cpu")
    parts = [tmp_path / f"stats{k}.h5" for k in range(3)]
    for k, path in enumerate(parts):
        predict(dataset=dataset, superpixels=str(whole), model=str(model), out=str(path),
                device="cpu", shard=k, shards=3)
    gather_table(shard_files=[str(p) for p in parts], stage="predict",
                 out=str(tmp_path / "stats_g.h5"))
    a, b = _read_all(tmp_path / "stats.h5"), _read_all(tmp_path / "stats_g.h5")
    for key in a:
        np.testing.assert_allclose(a[key], b[key], rtol=1e-12, err_msg=key)


def test_gather_refuses_shards_out_of_order(pool, tmp_path):
    dataset, _ = pool
    spec = SeedsSpec(size=32)
    paths = [tmp_path / f"s{k}.h5" for k in range(2)]
    for k, path in enumerate(paths):
        superpixelize(dataset=dataset, spec=spec, out=str(path), shard=k, shards=2)
    with pytest.raises(ArtifactError, match="is shard 1 of 2, expected 0 of 2"):
        gather_superpixels(shard_files=[str(paths[1]), str(paths[0])],
                           out=str(tmp_path / "g.h5"))


def test_shard_ranges_cover_the_pool_once():
    blocks = [shard_range(10, k, 4) for k in range(4)]
    assert blocks == [(0, 2), (2, 5), (5, 7), (7, 10)]
    with pytest.raises(ValueError):
        shard_range(10, 4, 4)
