"""Bad input gets a clear error naming the file or key, before any expensive work."""

from __future__ import annotations

import shutil

import pandas as pd
import pytest
import torch

from asal.data import synthetic
from asal.data.datasets import DatasetError
from asal.experiment.config import load_config
from asal.learning.models import build_model, save_checkpoint
from asal.method.superpixels import SeedsSpec
from asal.stages.acquire import acquire
from asal.stages.merge import merge
from asal.stages.predict import predict
from asal.stages.superpixelize import superpixelize
from asal.store.artifacts import ArtifactError

from workflow_helpers import snakemake, tiny_config, write_config

# ------------------------------------------------------------------ config, through Snakemake

@pytest.mark.parametrize("change, message", [
    ({"budget": 0}, "budget"),
    ({"buget": 10}, "'buget' was unexpected"),
    ({"methods": ["AMSP+S", "AMSPS"]}, "unknown method 'AMSPS'"),
    ({"merge": {"epsilon": 1.5}}, "epsilon"),
    ({"sieve": {"threshold": 1.2}}, "threshold"),
    ({"acquire": {"function": "bald"}}, "bald"),
    ({"oracle": "person"}, "person"),
    ({"oracle": "human", "methods": ["SP", "OracleSP"]}, "methods OracleSP build their"),
    ({"dataset": {"evaluation_split": None}}, "evaluation_split: null (no evaluation split) is"),
    ({"oracle": "human", "annotate": {"prot": 1}}, "'prot' was unexpected"),
    ({"resources": {"merge": {"runtime": 5}}}, "'mem_mb' is a required property"),
    ({"resources": {"draw_warmup": {"runtime": 5, "mem_mb": 100}}},
     "resources.draw_warmup is now resources.warmup"),
])
def test_snakemake_refuses_bad_config_naming_the_key(tmp_path, change, message):
    write_config(tmp_path, tiny_config(**change))
    proc = snakemake(tmp_path, "-n", check=False)
    assert proc.returncode != 0
    assert message in proc.stdout + proc.stderr
    assert not (tmp_path / "results").exists()  # nothing ran


def test_config_loader_names_the_path_of_a_bad_key(tmp_path):
    config = tiny_config()
    config["superpixels"]["sise"] = 3
    path = write_config(tmp_path, config)
    with pytest.raises(ValueError, match=r"config.yaml: superpixels: .*'sise' was unexpected"):
        load_config(path)


# ------------------------------------------------------------------ stages on tiny real files

@pytest.fixture(scope="module")
def pool(tmp_path_factory):
    root = tmp_path_factory.mktemp("pool")
    synthetic.generate(root, n_pool=4, n_val=1, height=40, width=56, seed=5)
    return root


def _dataset(root):
    return {"name": "synthetic", "root": str(root), "resize": 1.0}


def test_missing_image_is_reported_before_any_work(pool, tmp_path):
    root = tmp_path / "pool"
    shutil.copytree(pool, root)
    (root / "images" / "pool_0003.png").unlink()
    with pytest.raises(DatasetError, match=r"images/pool_0003.png"):
        superpixelize(dataset=_dataset(root), spec=SeedsSpec(size=32),
                      out=str(tmp_path / "sp.h5"))
    assert not (tmp_path / "sp.h5").exists()


def test_superpixel_size_larger_than_the_image(pool, tmp_path):
    with pytest.raises(ValueError, match=r"superpixel size 5000 px is larger than the image"):
        superpixelize(dataset=_dataset(pool), spec=SeedsSpec(size=5000),
                      out=str(tmp_path / "sp.h5"))


@pytest.fixture(scope="module")
def artifacts_ab(pool, tmp_path_factory):
    """Superpixels under two specs, statistics under the first."""
    out = tmp_path_factory.mktemp("artifacts")
    superpixelize(dataset=_dataset(pool), spec=SeedsSpec(size=32), out=str(out / "a.h5"))
    superpixelize(dataset=_dataset(pool), spec=SeedsSpec(size=64), out=str(out / "b.h5"))
    torch.manual_seed(0)
    save_checkpoint(out / "model.pt", build_model("small_unet", 6),
                    {"model": "small_unet", "n_classes": 6, "round": 0})
    predict(dataset=_dataset(pool), superpixels=str(out / "a.h5"), model=str(out / "model.pt"),
            out=str(out / "stats.h5"), device="cpu")
    return out


def test_stage_refuses_inputs_made_under_another_superpixel_spec(artifacts_ab, tmp_path):
    from asal.method.merging import MergeSpec

    with pytest.raises(ArtifactError, match=r"inputs disagree on superpixel spec: .*b.h5.*"
                                            r"\"size\": 64.*stats.h5.*\"size\": 32"):
        merge(superpixels=str(artifacts_ab / "b.h5"), stats=str(artifacts_ab / "stats.h5"),
              labelled=None, spec=MergeSpec(), out=str(tmp_path / "merged.h5"))
    assert not (tmp_path / "merged.h5").exists()


def test_checkpoint_with_another_class_count_is_refused(pool, artifacts_ab, tmp_path):
    save_checkpoint(tmp_path / "model4.pt", build_model("small_unet", 4),
                    {"model": "small_unet", "n_classes": 4, "round": 0})
    with pytest.raises(ValueError, match=r"model4.pt: checkpoint predicts 4 classes but the "
                                         r"dataset has 6"):
        predict(dataset=_dataset(pool), superpixels=str(artifacts_ab / "a.h5"),
                model=str(tmp_path / "model4.pt"), out=str(tmp_path / "stats.h5"), device="cpu")


def test_budget_beyond_the_pool_spends_what_is_left(artifacts_ab, tmp_path, caplog):
    from asal.method.acquisition import AcquireSpec

    sp_path, stats_path = str(artifacts_ab / "a.h5"), str(artifacts_ab / "stats.h5")
    table = acquire(superpixels=sp_path, stats=stats_path, merged=None, labelled=None,
                    spec=AcquireSpec(), budget=10**6, seed=0, trial=0, round=1,
                    out=str(tmp_path / "queries.csv"))
    from asal.store.artifacts import read_superpixels

    n = read_superpixels(sp_path).n_superpixels
    assert len(table) == n
    assert f"regions left unlabelled; spending {n}" in caplog.text
    assert len(pd.read_csv(tmp_path / "queries.csv")) == n
    with pytest.raises(ValueError, match="budget 0"):
        acquire(superpixels=sp_path, stats=stats_path, merged=None, labelled=None,
                spec=AcquireSpec(), budget=0, seed=0, trial=0, round=1,
                out=str(tmp_path / "q0.csv"))
