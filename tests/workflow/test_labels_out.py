"""What the labels are for, on the shared tiny run's real artifacts: `asal segment` on new
images (the round's own predictions on a pool image, any size, a bad file named and the rest
written), `asal export-labels` read back as a folder dataset, and `asal export-model`'s
TorchScript giving segment's argmax; and rule segment planned from `segment.images`."""

from __future__ import annotations

import json
import shutil

import cv2
import numpy as np
import pytest
import torch

from asal.data.datasets import dataset_from
from asal.learning.inference import Predictor
from asal.store import artifacts
from workflow_helpers import planned_jobs, run_stage, snakemake, tiny_config, write_config


@pytest.fixture(scope="module")
def run(tiny_run):
    return tiny_run[0]


def _model(run):
    return run / "results/tiny/SP/trial0/round2/model.pt"


def _png(path):
    return cv2.imread(str(path), cv2.IMREAD_UNCHANGED)


@pytest.mark.workflow
def test_segment_gives_the_rounds_prediction_on_a_pool_image(run, tmp_path):
    exp = run / "results/tiny"
    ds = dataset_from({"name": "synthetic", "root": str(exp / "dataset"), "resize": 1.0,
                       "evaluation_split": "val"})
    name = ds.pool[0]
    run_stage(["segment", str(ds.image_path(name)), "--model", str(_model(run)),
               "--out", str(tmp_path / "out")], run)
    got = _png(tmp_path / "out" / f"{name}.png")
    with Predictor(_model(run), ds, torch.device("cpu"),
                   str(exp / "features/efficientnet_lite0.h5")) as predictor:
        want = next(predictor.probs([name])).argmax(0)
    assert got.dtype == np.uint8 and got.shape == want.shape
    # the encoder run on one image against the cached features of a batch: the same up to
    # float rounding at a few borderline pixels
    assert (got == want).mean() > 0.995
    overlay = cv2.imread(str(tmp_path / "out" / f"{name}_overlay.png"))
    assert overlay.shape == want.shape + (3,)
    assert (tmp_path / "out" / "classes.txt").read_text().splitlines()[0].startswith("0 ")


@pytest.mark.workflow
def test_segment_takes_any_size_and_names_an_unreadable_image(run, tmp_path):
    exp = run / "results/tiny"
    source = next((exp / "dataset/images").glob("val_*.png"))
    folder = tmp_path / "new"
    folder.mkdir()
    big = cv2.resize(cv2.imread(str(source)), None, fx=2.5, fy=1.5)
    cv2.imwrite(str(folder / "big.jpg"), big)
    (folder / "broken.png").write_bytes(b"not an image")
    proc = run_stage_failing(["segment", str(folder), "--model", str(_model(run)),
                              "--out", str(tmp_path / "out")], run)
    assert proc.returncode != 0 and "broken.png" in proc.stderr
    assert _png(tmp_path / "out" / "big.png").shape == big.shape[:2]  # back at its own size
    assert not (tmp_path / "out" / "broken.png").exists()


def run_stage_failing(argv, cwd):
    import subprocess
    import sys
    from pathlib import Path

    return subprocess.run([str(Path(sys.executable).with_name("asal")), *argv], cwd=cwd,
                          capture_output=True, text=True)


@pytest.mark.workflow
@pytest.mark.parametrize("sieved", [False, True])
def test_exported_labels_read_back_as_a_folder_dataset(run, tmp_path, sieved):
    exp = run / "results/tiny"
    out = tmp_path / "labels"
    config = [str(run / "config.yaml")]
    run_stage(["export-labels", "--config", *config, "--method", "SP", "--trial", "0",
               "--round", "2", "--out", str(out)] + (["--sieved"] if sieved else []), run)
    back = dataset_from({"name": "folder", "root": str(out), "resize": 1.0,
                         "evaluation_split": None})
    original = dataset_from({"name": "synthetic", "root": str(exp / "dataset"), "resize": 1.0,
                             "evaluation_split": "val"})
    assert back.classes == original.classes
    labelled, attrs = artifacts.read_table(exp / "SP/trial0/round2/labelled.h5", "query",
                                           ("label",))
    kept = artifacts.read_table(exp / "SP/trial0/round2/sieved.h5", "sieve",
                                ("pixel", "label", "kept"))[0]
    void = int(attrs["void_label"])
    with artifacts.open_superpixels(exp / "superpixels/seeds.h5") as sp:
        names = list(sp.names)
        expected_images = 0
        for i, name in enumerate(names):
            lab = labelled["label"][sp.sp_offset[i] + sp.local_map(i)]
            want = np.where((lab >= 0) & (lab != void), lab, 255).astype(np.uint8)
            if sieved:
                want = np.full(want.size, 255, np.uint8)
                sel = kept["kept"] & (kept["pixel"] >= sp.pixel_offset[i]) & \
                    (kept["pixel"] < sp.pixel_offset[i + 1])
                want[kept["pixel"][sel] - sp.pixel_offset[i]] = kept["label"][sel]
                want = want.reshape(sp.shapes[i])
            if (want == 255).all():
                assert name not in back.pool
                continue
            expected_images += 1
            np.testing.assert_array_equal(back.read_label(name), want)
            np.testing.assert_array_equal(back.read_image(name), original.read_image(name))
    assert len(back.pool) == expected_images > 0


@pytest.mark.workflow
def test_exported_torchscript_gives_segments_argmax(run, tmp_path):
    exp = run / "results/tiny"
    image = next((exp / "dataset/images").glob("val_*.png"))
    run_stage(["export-model", "--model", str(_model(run)), "--out", str(tmp_path / "m.pt")],
              run)
    run_stage(["segment", str(image), "--model", str(_model(run)), "--out",
               str(tmp_path / "seg")], run)
    card = json.loads((tmp_path / "m.json").read_text())
    h, w = card["image_size"]
    rgb = cv2.cvtColor(cv2.imread(str(image)), cv2.COLOR_BGR2RGB)
    assert rgb.shape[:2] == (h, w)
    net = torch.jit.load(str(tmp_path / "m.pt"))
    x = torch.from_numpy(rgb).permute(2, 0, 1)[None].float()
    with torch.no_grad():
        got = net(x)[0].argmax(0).numpy()
    np.testing.assert_array_equal(got, _png(tmp_path / "seg" / image.name))
    assert card["classes"][0] and card["model"] == "feature_head"
    # ONNX beside it, where the onnx package lets torch export it: the same classes
    ort = pytest.importorskip("onnxruntime", reason="pip install onnxruntime (test extras)")
    assert card["onnx"] == str(tmp_path / "m.onnx")
    logits = ort.InferenceSession(card["onnx"]).run(None, {"rgb": x.numpy()})[0][0]
    with torch.no_grad():
        want = net(x)[0].numpy()
    # onnxruntime may fold away the float16 round trip of the taps: the same logits to a
    # few thousandths, so the same class wherever the best two are not that close
    assert np.abs(logits - want).max() < 0.05
    top2 = np.sort(want, axis=0)[-2:]
    clear = top2[1] - top2[0] > 0.05
    assert clear.mean() > 0.5 and (logits.argmax(0) == got)[clear].all()


def test_rule_segment_is_planned_from_the_config(tmp_path):
    images = tmp_path / "new"
    images.mkdir()
    shutil.copy(__file__, images / "not_an_image.py")
    config = tiny_config(methods=["SP", "Full"], segment={"images": str(images)})
    write_config(tmp_path, config)
    proc = snakemake(tmp_path, "-n", check=False)
    assert proc.returncode != 0 and "no image" in proc.stdout + proc.stderr
    cv2.imwrite(str(images / "a.png"), np.zeros((20, 30, 3), np.uint8))
    jobs = planned_jobs(snakemake(tmp_path, "-n").stdout)
    assert sorted(out for rule, out in jobs if rule == "segment") == \
        ["results/tiny/segment/Full/trial0", "results/tiny/segment/SP/trial0"]
