"""A killed run resumes: SIGKILL to Snakemake and all its jobs mid-stage, then the same
command finishes, redoes only what was interrupted, and ends with the metrics of an
uninterrupted run."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import time
from pathlib import Path

import pytest

from workflow_helpers import SNAKEMAKE, REPO, snakemake, tiny_config, write_config

pytestmark = pytest.mark.workflow

METHOD = "AMSP+S"


def _config():
    return tiny_config(methods=[METHOD])


def _metrics(workdir: Path) -> dict:
    root = workdir / "results" / "tiny"
    files = sorted(root.glob("*/trial*/round*/metrics.json"))
    assert len(files) == 3, files
    out = {}
    for f in files:
        m = json.loads(f.read_text())
        out[str(f.relative_to(root))] = (m["clicks"], m["miou"], m["iou"])
    return out


def _finished_files(workdir: Path) -> dict[str, float]:
    root = workdir / "results" / "tiny"
    return {str(p): p.stat().st_mtime_ns for p in root.rglob("*")
            if p.is_file() and not p.name.endswith(".tmp")}


@pytest.fixture(scope="module")
def reference(tmp_path_factory):
    workdir = tmp_path_factory.mktemp("reference")
    write_config(workdir, _config())
    snakemake(workdir)
    return _metrics(workdir)


def _start(workdir: Path, env_extra: dict | None = None) -> subprocess.Popen:
    env = {**os.environ, "PATH": f"{Path(SNAKEMAKE).parent}{os.pathsep}{os.environ['PATH']}",
           **(env_extra or {})}
    cmd = [SNAKEMAKE, "-s", str(REPO / "Snakefile"), "--directory", str(workdir),
           "--configfile", str(workdir / "config.yaml"), "--cores", "2"]
    return subprocess.Popen(cmd, cwd=workdir, env=env, stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL, start_new_session=True)


def _kill_when(proc: subprocess.Popen, ready, timeout: float = 240) -> None:
    deadline = time.time() + timeout
    while not ready():
        if proc.poll() is not None:
            raise AssertionError("the run finished before the moment to kill it came")
        if time.time() > deadline:
            os.killpg(proc.pid, signal.SIGKILL)
            raise AssertionError("timed out waiting for the moment to kill")
        time.sleep(0.05)
    os.killpg(proc.pid, signal.SIGKILL)  # Snakemake and every job it started
    proc.wait()
    time.sleep(0.5)


def _resume_and_check(workdir: Path, reference: dict, interrupted: str) -> None:
    before = _finished_files(workdir)
    assert not Path(interrupted).exists(), "an interrupted output must not look finished"
    # Snakemake keeps its lock after SIGKILL and says so; unlocking is its documented step.
    snakemake(workdir, "--unlock")
    snakemake(workdir)
    after = _finished_files(workdir)
    # Nothing that had finished was redone.
    changed = [p for p, mtime in before.items() if after.get(p) != mtime]
    assert not changed, f"finished artifacts were rewritten: {changed[:5]}"
    assert Path(interrupted).exists()
    assert not list((workdir / "results").rglob("*.tmp")), "temporary files left behind"
    assert _metrics(workdir) == reference


def test_killed_during_train(tmp_path, reference):
    write_config(tmp_path, _config())
    log = tmp_path / "results/logs/tiny/train" / METHOD / "trial0/round1.log"
    proc = _start(tmp_path)
    _kill_when(proc, lambda: log.exists() and "train: " in log.read_text())
    _resume_and_check(tmp_path, reference,
                      str(tmp_path / "results/tiny" / METHOD / "trial0/round1/model.pt"))


def test_killed_during_merge(tmp_path, reference):
    write_config(tmp_path, _config())
    log = tmp_path / "results/logs/tiny/merge" / METHOD / "trial0/round2.log"
    proc = _start(tmp_path)
    _kill_when(proc, lambda: log.exists())
    _resume_and_check(tmp_path, reference,
                      str(tmp_path / "results/tiny" / METHOD / "trial0/round2/merged.h5"))


def test_killed_while_sieve_writes_its_hdf5(tmp_path, reference):
    write_config(tmp_path, _config())
    # The first sieve to run (the warm-up's) pauses between writing its HDF5 and publishing it.
    folder = tmp_path / "results/tiny/warmup/trial0/round0"
    proc = _start(tmp_path, {"ASAL_PAUSE_BEFORE_PUBLISH": "sieved.h5:300"})
    _kill_when(proc, lambda: any(p.stat().st_size > 0 for p in folder.glob(".sieved.h5.*.tmp")))
    assert list(folder.glob(".sieved.h5.*.tmp")), "the kill should land mid-write"
    _resume_and_check(tmp_path, reference, str(folder / "sieved.h5"))
