"""The dataset is checked before any job that reads it: a misread mapping stops the run before
a single model is trained, and a changed mapping reruns exactly what read labels.

A tiny binary dataset laid out as users lay theirs out: masks stored 0/255 (the commonest
binary format), first described by the naive classes.json that leaves 255 as void."""

from __future__ import annotations

import json
from pathlib import Path

import cv2
import numpy as np
import pytest

from workflow_helpers import planned_jobs, snakemake, tiny_config, write_config

pytestmark = pytest.mark.workflow

NAIVE = {"classes": ["background", "lesion"]}  # raw 255 is void by default
FIXED = {"classes": ["background", "lesion"], "values": [0, 255]}
# Jobs that read labels, and jobs that read only images, of the config below.
LABEL_READERS = {"oracle_table", "train_full", "evaluate", "evaluate_full", "draw"}
IMAGE_ONLY = {"superpixelize", "features", "warmup"}


def binary_dataset(root: Path, n_pool: int = 6, n_val: int = 2) -> Path:
    """Photographs of a bright disc on a textured background, masks 0 (background) and 255
    (the disc), 64x48 PNGs."""
    rng = np.random.default_rng(0)
    (root / "images").mkdir(parents=True)
    (root / "labels").mkdir()
    names = [f"img_{k}" for k in range(n_pool + n_val)]
    for k, name in enumerate(names):
        image = rng.integers(30, 90, (48, 64, 3)).astype(np.uint8)
        mask = np.zeros((48, 64), np.uint8)
        centre = (int(rng.integers(16, 48)), int(rng.integers(12, 36)))
        cv2.circle(mask, centre, int(rng.integers(6, 12)), 255, -1)
        image[mask > 0] = (220, 200, 60)
        cv2.imwrite(str(root / "images" / f"{name}.png"), image)
        cv2.imwrite(str(root / "labels" / f"{name}.png"), mask)
    (root / "pool.txt").write_text("\n".join(names[:n_pool]) + "\n")
    (root / "val.txt").write_text("\n".join(names[n_pool:]) + "\n")
    return root


def config(root: Path) -> dict:
    return tiny_config(methods=["SP", "Full"], rounds=1, budget=6,
                       dataset={"name": "folder", "root": str(root), "evaluation_split": "val"},
                       superpixels={"size": 32})


def test_a_misread_mapping_stops_the_run_before_any_model_and_its_fix_reruns_label_readers(
        tmp_path):
    data = binary_dataset(tmp_path / "data")
    work = tmp_path / "run"
    work.mkdir()
    write_config(work, config(data))
    (data / "classes.json").write_text(json.dumps(NAIVE))

    # 1. Refused by the check, naming the class, the void share and the fix; nothing else ran.
    proc = snakemake(work, check=False)
    assert proc.returncode != 0
    log = (work / "results/logs/tiny/check_dataset.log").read_text()
    assert "'lesion' (class 1, raw value 1) occurs in none of the 6 pool label maps" in log
    assert '"values": [0, 255]' in log
    assert not list((work / "results").rglob("*.pt")), "a model was trained on misread labels"
    made = {p.parts[-2] for p in (work / "results/tiny").rglob("*") if p.is_file()}
    assert not made, made  # not even the check's summary
    assert not (work / "results/tiny/dataset_check.json").exists()

    # 2. Fixed: the same command runs everything.
    (data / "classes.json").write_text(json.dumps(FIXED))
    snakemake(work)
    summary = json.loads((work / "results/tiny/dataset_check.json").read_text())
    assert summary["pixels"]["pool"][1] > 0  # the lesion is read as a class now

    # 3. The mapping changes again (here: which class comes first): the dataset check and
    #    exactly the jobs that read labels are planned, Full's training included; the jobs
    #    that read only images are not.
    (data / "classes.json").write_text(json.dumps(
        {"classes": ["lesion", "background"], "values": [255, 0]}))
    rules = {rule for rule, _ in planned_jobs(snakemake(work, "-n").stdout)}
    assert {"check_dataset"} | LABEL_READERS <= rules, rules
    assert not rules & IMAGE_ONLY, rules

    # 4. A label file edited in place (same name, same classes): the same.
    (data / "classes.json").write_text(json.dumps(FIXED))
    snakemake(work)
    mask = cv2.imread(str(data / "labels" / "img_0.png"), cv2.IMREAD_UNCHANGED)
    mask[:4, :4] = 255
    cv2.imwrite(str(data / "labels" / "img_0.png"), mask)
    rules = {rule for rule, _ in planned_jobs(snakemake(work, "-n").stdout)}
    assert {"check_dataset", "oracle_table", "train_full"} <= rules, rules
    assert not rules & IMAGE_ONLY, rules
