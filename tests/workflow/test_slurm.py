"""The tiny workflow on a real SLURM cluster, through the workflow's SLURM profile.

A single-node cluster (slurmctld, slurmd and munged on 127.0.0.1; see slurm_cluster.py) is
installed when missing and started for this module, and stopped at its end. The workflow runs
with workflow/profiles/slurm exactly as a user launches it, plus the plugin settings that a
cluster without accounting and a test in a hurry need:

- `--slurm-status-command squeue`: there is no slurmdbd, so `sacct` cannot see jobs; squeue
  shows finished jobs for MinJobAge (an hour) seconds.
- `--slurm-init-seconds-before-status-checks 2`, `--seconds-between-status-checks 2`: poll
  every few seconds instead of every 40 or more.
- `--slurm-keep-successful-logs`: keep every job's SLURM log to check it.
"""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

import pytest

from slurm_cluster import install_reason, slurm_cluster
from workflow_helpers import REPO, SNAKEMAKE, planned_jobs, tiny_config, write_config

pytestmark = [pytest.mark.workflow, pytest.mark.slurm]

PROFILE = REPO / "workflow" / "profiles" / "slurm"
TEST_SETTINGS = ["--slurm-status-command", "squeue",
                 "--slurm-init-seconds-before-status-checks", "2",
                 "--seconds-between-status-checks", "2",
                 "--slurm-keep-successful-logs"]
LOCAL_RULES = {"synthesize", "report", "all"}
GPU_RULES = {"predict", "sieve", "train", "evaluate", "features"}
# Small and distinct per-rule numbers, to see that each job asked SLURM for its rule's config.
RESOURCES = {rule: {"runtime": 10 + i, "mem_mb": 400 + 20 * i} for i, rule in enumerate(
    ["synthesize", "superpixelize", "superpixelize_oracle", "oracle_table", "warmup",
     "merge", "acquire", "query", "sieve", "train", "evaluate", "predict", "report", "draw",
     "features", "check_dataset", "segment"])}


@pytest.fixture(scope="module")
def cluster(tmp_path_factory):
    reason = install_reason()
    if reason:
        pytest.skip(f"no SLURM cluster on this machine: {reason}")
    with slurm_cluster(tmp_path_factory.mktemp("slurm")) as running:
        yield running


def command(workdir: Path, *extra: str) -> list[str]:
    return [SNAKEMAKE, "-s", str(REPO / "Snakefile"), "--directory", str(workdir),
            "--configfile", str(workdir / "config.yaml"),
            "--workflow-profile", str(PROFILE), *TEST_SETTINGS, *extra]


def environment(cluster) -> dict:
    bin_dir = str(Path(sys.executable).parent)
    return {**cluster.env, "PATH": f"{bin_dir}{os.pathsep}{cluster.env['PATH']}"}


def run(cluster, workdir: Path, *extra: str, check: bool = True) -> subprocess.CompletedProcess:
    proc = subprocess.run(command(workdir, *extra), cwd=workdir, env=environment(cluster),
                          capture_output=True, text=True, timeout=900)
    if check and proc.returncode != 0:
        raise AssertionError(f"snakemake failed ({proc.returncode}):\n{proc.stdout[-3000:]}\n"
                             f"{proc.stderr[-8000:]}\n{cluster.log_tail()}")
    return proc


def run_id(output: str) -> str:
    """The plugin's run ID, which is every SLURM job's name."""
    ids = re.findall(r"SLURM run ID: (\S+)", output)
    assert len(ids) == 1, output[-3000:]
    return ids[0]


def submitted(output: str) -> dict[str, str]:
    """SLURM job id -> its SLURM log, as the plugin reported each submission."""
    return dict(re.findall(r"has been submitted with SLURM jobid (\d+) \(log: (\S+?)\)\.", output))


def slurm_jobs(cluster, name: str) -> list[dict]:
    """SLURM's record of every job of one run: squeue's fields, the rule (from the comment the
    plugin sets, rule_<rule>_wildcards_<...>), and scontrol's exit code and GPU request."""
    jobs = [job for job in cluster.jobs() if job["name"] == name]
    for job in jobs:
        job["rule"] = re.match(r"rule_([a-z_]+?)(?:_wildcards_.*)?$", job["comment"]).group(1)
        shown = cluster.show_job(job["id"])
        job["exit_code"] = shown["ExitCode"]
        job["gpus"] = shown.get("TresPerJob", "")
        job["tres"] = shown["TRES"]
        job["start"], job["end"] = shown["StartTime"], shown["EndTime"]
    return jobs


def minutes(limit: str) -> int:
    """squeue's time limit (M:SS, H:MM:SS) in minutes."""
    parts = [int(p) for p in limit.split(":")]
    return parts[-2] + 60 * parts[-3] if len(parts) == 3 else parts[0]


def wait_for(what: str, condition, proc: subprocess.Popen, log: Path, timeout: float = 300):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        if proc.poll() is not None:
            raise AssertionError(f"snakemake exited ({proc.returncode}) before {what}:\n"
                                 f"{log.read_text()[-6000:]}")
        time.sleep(0.5)
    raise AssertionError(f"timed out waiting for {what}:\n{log.read_text()[-3000:]}")


def test_benchmark_as_slurm_jobs_survives_cancelled_jobs(cluster, tmp_path):
    """One command runs the tiny benchmark (warm-up and one round) as SLURM jobs. A running
    train job cancelled with scancel is resubmitted with 1.5 times the runtime and memory;
    cancelled again, the run fails. The same command again submits only the jobs that had not
    completed and finishes the benchmark: every job that is not a localrule ran as one SLURM job
    on the node, with its rule's runtime, memory and (GPU rules) a GPU, no two GPU jobs at once;
    every artifact exists, nothing finished was written twice, and a third time has nothing
    to do. (One scenario, so the cluster runs each job of the benchmark once.)"""
    workdir = tmp_path / "run"
    workdir.mkdir()
    write_config(workdir, tiny_config(methods=["AMSP+S"], rounds=1, resources=RESOURCES))
    planned = planned_jobs(run(cluster, workdir, "-n").stdout)
    assert {rule for rule, _ in planned} >= {"merge", "acquire", "features", *GPU_RULES}
    # One retry instead of the profile's two, to keep the test short.
    extra = ["--retries", "1"]
    train_log = workdir / "results/logs/tiny/train/warmup/trial0/round0.log"

    started = time.monotonic()
    log = tmp_path / "first.log"
    with open(log, "w") as out:
        first = subprocess.Popen(command(workdir, *extra), cwd=workdir, env=environment(cluster),
                                 stdout=out, stderr=subprocess.STDOUT, start_new_session=True)
    try:
        name = wait_for("the run ID", lambda: re.findall(r"SLURM run ID: (\S+)", log.read_text()),
                        first, log)[0]
        cancelled = []
        for attempt in (1, 2):
            def running_train():
                # Running and already inside `asal train` (its log is being written).
                for job in cluster.jobs():
                    if (job["name"] == name and job["comment"].startswith("rule_train")
                            and job["state"] == "RUNNING" and job["id"] not in cancelled
                            and train_log.exists() and train_log.stat().st_size > 0):
                        return job
            job = wait_for(f"train attempt {attempt} to run", running_train, first, log)
            cluster.run("scancel", job["id"])
            cancelled.append(job["id"])
            train_log.unlink()
        first.wait(timeout=300)
    finally:
        if first.poll() is None:
            os.killpg(first.pid, signal.SIGINT)
            first.wait(timeout=60)
    output = log.read_text()
    assert first.returncode != 0, output[-3000:]

    first_jobs = {job["id"]: job for job in slurm_jobs(cluster, name)}
    assert [first_jobs[i]["state"] for i in cancelled] == ["CANCELLED", "CANCELLED"]
    # The retry asked for retry_factor (1.5) times the runtime and memory.
    base = RESOURCES["train"]
    assert minutes(first_jobs[cancelled[0]]["time_limit"]) == base["runtime"]
    assert minutes(first_jobs[cancelled[1]]["time_limit"]) == -(-base["runtime"] * 3 // 2)
    assert first_jobs[cancelled[1]]["memory"] == f"{-(-base['mem_mb'] * 3 // 2)}M"
    done_before = [job for job in first_jobs.values() if job["state"] == "COMPLETED"]
    assert {job["rule"] for job in done_before} == {"check_dataset", "superpixelize", "oracle_table",
                                                     "features", "warmup", "query", "sieve"}
    results = workdir / "results" / "tiny"
    kept = {p: p.stat().st_mtime_ns for p in results.rglob("*")
            if p.is_file() and p.suffix != ".tmp" and p.name not in ("model.pt", "train_log.csv")}
    assert not (results / "warmup/trial0/round0/model.pt").exists()

    second = run(cluster, workdir, *extra)
    print(f"SLURM runs: {time.monotonic() - started:.0f} s")
    output = second.stdout + second.stderr
    redone = slurm_jobs(cluster, run_id(output))
    assert all(job["state"] == "COMPLETED" for job in redone)
    # Nothing that had completed was submitted or written again.
    assert not {job["rule"] for job in redone} & {"superpixelize", "oracle_table", "features",
                                                  "warmup"}
    assert {p: p.stat().st_mtime_ns for p in kept if p.exists()} == kept
    logs = submitted(output)
    assert set(logs) == {job["id"] for job in redone}

    # Over both runs, every planned job that is not a localrule completed as one SLURM job.
    jobs = done_before + redone
    remote = Counter(rule for rule, _ in planned if rule not in LOCAL_RULES)
    assert Counter(job["rule"] for job in jobs) == remote
    completed = (cluster.root / "log" / "jobcomp.txt").read_text()
    for job in jobs:
        assert job["state"] == "COMPLETED" and job["exit_code"] == "0:0", job
        assert job["node"] == cluster.node
        # slurmctld's job-completion log has it too.
        assert re.search(rf"^JobId={job['id']} .*JobState=COMPLETED", completed, re.M), job
        wanted = RESOURCES[job["rule"]]
        assert minutes(job["time_limit"]) == wanted["runtime"], job
        assert job["memory"] == f"{wanted['mem_mb']}M", job
        if job["rule"] in GPU_RULES:
            assert job["gpus"] == "gres:gpu:1", job
        else:
            assert not job["gpus"], job
    for job in redone:  # the job's SLURM log: the job step ran snakemake for this rule
        text = Path(logs[job["id"]]).read_text()
        assert f"rule {job['rule']}:" in text and "1 of 1 steps (100%) done" in text, text[-2000:]

    # The node has one GPU: SLURM never ran two GPU jobs at once (evaluate and predict of round
    # 0 were ready together).
    gpu_jobs = sorted((job["start"], job["end"]) for job in jobs if job["rule"] in GPU_RULES)
    for (_, end), (start, _) in zip(gpu_jobs, gpu_jobs[1:]):
        assert start >= end, gpu_jobs

    # Artifacts: every planned output, the round files, the report.
    for _, output_file in planned:
        assert (workdir / output_file).exists(), output_file
    for file in ["merged.h5", "queries.csv", "answers.csv", "labelled.h5", "sieved.h5",
                 "model.pt", "train_log.csv", "metrics.json"]:
        assert (results / "AMSP+S" / "trial0" / "round1" / file).exists(), file
    assert (results / "warmup" / "trial0" / "round0" / "stats.h5").exists()
    metrics = json.loads((results / "AMSP+S" / "trial0" / "round1" / "metrics.json").read_text())
    assert metrics["clicks"] == 24
    assert (results / "report" / "metrics.csv").read_text().count("\n") == 3  # header, 2 rounds
    assert not list(results.rglob("*.tmp"))
    # The same command again has nothing to do.
    again = run(cluster, workdir, "-n")
    assert "Nothing to be done" in again.stdout + again.stderr
