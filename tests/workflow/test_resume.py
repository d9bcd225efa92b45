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

from workflow_helpers import REPO, SNAKEMAKE, snakemake, tiny_config, write_config

pytestmark = pytest.mark.workflow

METHOD = "AMSP+S"


def _config():
    return tiny_config(methods=[METHOD])


def _metrics(workdir: Path) -> dict:
    """Metrics of the warm-up and the rounds of METHOD in trial 0 (the shared run, the
    reference, has more methods and trials; each trial's results depend only on its seed)."""
    root = workdir / "results" / "tiny"
    files = sorted(f for f in root.glob("*/trial0/round*/metrics.json")
                   if f.parts[-4] in ("warmup", METHOD))
    assert len(files) == 3, files
    out = {}
    for f in files:
        m = json.loads(f.read_text())
        out[str(f.relative_to(root))] = (m["clicks"], m["miou"], m["iou"])
    return out


def _finished_files(workdir: Path, unfinished: set[str] = frozenset()) -> dict[str, float]:
    """Files a resume must leave alone: all but temporaries and Snakemake's unfinished
    outputs, a directory output (a round's pictures) with everything under it."""
    root = workdir / "results" / "tiny"
    held = tuple(Path(u) for u in unfinished)
    return {str(p): p.stat().st_mtime_ns for p in root.rglob("*")
            if p.is_file() and not p.name.endswith(".tmp")
            and not any(p == u or u in p.parents for u in held)}


def _incomplete_outputs(workdir: Path) -> set[str]:
    """Outputs Snakemake itself holds unfinished: a job killed after its file was published
    but before Snakemake recorded the job as done. Rerunning those is right, not a loss.
    Without the workflow profile's rerun-incomplete, a dry run refuses and lists them."""
    plan = snakemake(workdir, "-n", "--workflow-profile", "none", check=False)
    text = plan.stdout + plan.stderr
    if "Incomplete files:" not in text:
        assert plan.returncode == 0, text[-4000:]
        return set()
    listed = text.split("Incomplete files:", 1)[1].split()
    return {str(workdir / f) for f in listed if f.startswith("results/")}


@pytest.fixture(scope="module")
def reference(tiny_run):
    """The uninterrupted run: the shared tiny run, whose trial 0 of METHOD has this test's
    settings."""
    workdir, _ = tiny_run
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


def _resume(workdir: Path, interrupted: Path, kill_at=None, env_extra=None) -> None:
    """Rerun the same command after a kill; optionally kill this run too at `kill_at`.
    Whatever had finished before must be left as it was."""
    assert not interrupted.exists(), "an interrupted output must not look finished"
    # Snakemake keeps its lock after SIGKILL and says so; unlocking is its documented step.
    snakemake(workdir, "--unlock")
    # At most the two jobs that were running (--cores 2) may be held unfinished.
    unfinished = _incomplete_outputs(workdir)
    assert len(unfinished) <= 8, f"too many outputs held unfinished: {sorted(unfinished)}"
    before = _finished_files(workdir, unfinished)
    if kill_at is None:
        snakemake(workdir)
    else:
        _kill_when(_start(workdir, env_extra), kill_at)
    after = _finished_files(workdir)
    changed = [p for p, mtime in before.items() if after.get(p) != mtime]
    assert not changed, f"finished artifacts were rewritten: {changed[:5]}"
    if kill_at is None:
        assert interrupted.exists()
        assert not list((workdir / "results").rglob("*.tmp")), "temporary files left behind"


def test_killed_three_times_then_finished(tmp_path, reference):
    """SIGKILL to Snakemake and its jobs while sieve writes its HDF5, then while train runs,
    then while merge runs; each rerun of the same command redoes only what was cut off, and
    the last one ends with the metrics of the uninterrupted run."""
    write_config(tmp_path, _config())
    root = tmp_path / "results/tiny"
    logs = tmp_path / "results/logs/tiny"

    # 1. The first sieve to run (the warm-up's) pauses between writing and publishing its file.
    warm = root / "warmup/trial0/round0"
    proc = _start(tmp_path, {"ASAL_PAUSE_BEFORE_PUBLISH": "sieved.h5:300"})
    _kill_when(proc, lambda: any(p.stat().st_size > 0 for p in warm.glob(".sieved.h5.*.tmp")))
    assert list(warm.glob(".sieved.h5.*.tmp")), "the kill should land mid-write"

    # 2. Resume, and kill again while round 1 trains.
    train_log = logs / "train" / METHOD / "trial0/round1.log"
    _resume(tmp_path, warm / "sieved.h5",
            kill_at=lambda: train_log.exists() and "train: " in train_log.read_text())
    model = root / METHOD / "trial0/round1/model.pt"
    assert not model.exists()

    # 3. Resume, and kill again while round 2 merges.
    merge_log = logs / "merge" / METHOD / "trial0/round2.log"
    _resume(tmp_path, model, kill_at=lambda: merge_log.exists())
    merged = root / METHOD / "trial0/round2/merged.h5"

    # 4. Resume to the end.
    _resume(tmp_path, merged)
    assert _metrics(tmp_path) == reference
