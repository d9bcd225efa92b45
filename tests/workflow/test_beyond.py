"""Methods beyond the paper through the extension points, on the real Snakefile: void-aware
acquisition (SP+V), multi-class answers (AMSP+S+M), and a method made of functions from a
module outside the package (docs/examples/my_extensions.py, the worked example of
docs/extending.md); a missing module or function is refused by a dry run; the paper and beyond
configs share one regime and plan."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml

from asal.store import artifacts
from workflow_helpers import (REPO, SNAKEMAKE, made_once, planned_jobs, snakemake, tiny_config,
                              write_config)

EXAMPLES = REPO / "docs" / "examples"
MINE = {"base": "AMSP+S", "acquire": {"function": "my_extensions:uncertainty_times_size"},
        "merge": {"criterion": "my_extensions:hellinger", "epsilon": 0.2},
        "answer": {"type": "my_extensions:top_two"}}


def with_examples(workdir: Path, *args: str, check: bool = True):
    """snakemake with the examples' folder on PYTHONPATH, as a user puts their own module."""
    env = {**os.environ, "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}",
           "PYTHONPATH": str(EXAMPLES)}
    cmd = [SNAKEMAKE, "-s", str(REPO / "Snakefile"), "--directory", str(workdir),
           "--configfile", str(workdir / "config.yaml"), "--cores", "2", *args]
    proc = subprocess.run(cmd, cwd=workdir, env=env, capture_output=True, text=True)
    if check and proc.returncode != 0:
        raise AssertionError(f"snakemake failed:\n{proc.stdout[-3000:]}\n{proc.stderr[-5000:]}")
    return proc


@pytest.fixture(scope="module")
def beyond_run(tmp_path_factory):
    config = tiny_config(methods=["SP+V", "AMSP+S+M", "Mine"], rounds=1,
                         method_definitions={"Mine": MINE}, answer={"min_share": 0.2})

    def make(workdir):
        write_config(workdir, config)
        with_examples(workdir)

    workdir = made_once(tmp_path_factory, "beyond", make)
    return workdir / "results" / "tiny", config


@pytest.mark.workflow
def test_void_aware_acquisition_runs_on_the_void_output(beyond_run):
    exp, config = beyond_run
    model = artifacts_model(exp / "warmup/trial0/round0/model.pt")
    assert any(k.startswith("void_probe.") for k in model)
    # theta_0's statistics, which round 1's void-aware acquisition read
    stats, _ = artifacts.read_table(exp / "warmup/trial0/round0/stats.h5", "predict",
                                    ("count", "void_sum"))
    assert ((stats["void_sum"] >= 0) & (stats["void_sum"] <= stats["count"])).all()
    log = pd.read_csv(exp / "SP+V/trial0/round1/train_log.csv")
    assert "void_loss" in log and np.isfinite(log["void_loss"]).all()
    rounds = pd.read_csv(exp / "report/rounds.csv")
    assert "clicks_on_void" in rounds and "void_share" in rounds
    for method in ("SP+V", "AMSP+S+M"):
        metrics = json.loads((exp / f"{method}/trial0/round1/metrics.json").read_text())
        answers = pd.read_csv(exp / f"{method}/trial0/round1/answers.csv")
        assert metrics["clicks_on_void"] == int((answers["label_name"] == "void").sum())


@pytest.mark.workflow
def test_multi_class_answers_pay_a_click_per_class_and_train_on_sets(beyond_run):
    exp, config = beyond_run
    answers = pd.read_csv(exp / "AMSP+S+M/trial0/round1/answers.csv")
    budget = config["budget"]
    # answered in order until the clicks are spent: the last may overrun by its extra classes
    spent = answers["clicks"].cumsum()
    assert spent.iloc[-1] >= budget and (spent.iloc[:-1] < budget).all()
    several = answers["label_names"].str.contains(r"\+")
    assert (answers.loc[several, "clicks"] == answers.loc[several, "label_names"]
            .str.count(r"\+") + 1).all()
    labelled, attrs = artifacts.read_table(exp / "AMSP+S+M/trial0/round1/labelled.h5", "query",
                                           ("label", "label_set"))
    assert attrs["clicks_total"] == config["budget"] + int(answers["clicks"].sum())
    sieved, _ = artifacts.read_table(exp / "AMSP+S+M/trial0/round1/sieved.h5", "sieve",
                                     ("label", "label_set"))
    # every pixel's label is in its set
    assert ((sieved["label_set"] >> sieved["label"].astype(np.int64)) & 1).all()
    metrics = json.loads((exp / "AMSP+S+M/trial0/round1/metrics.json").read_text())
    assert metrics["round_clicks"] == int(answers["clicks"].sum())
    assert metrics["round_queries"] == len(answers)


@pytest.mark.workflow
def test_a_method_of_ones_own_module_runs_every_extension_point(beyond_run):
    exp, _ = beyond_run
    queries = pd.read_csv(exp / "Mine/trial0/round1/queries.csv")
    # the score is eq. 7 times log(1 + size): larger regions come first among equals
    assert np.isfinite(queries["score"]).all() and (np.diff(queries["score"]) <= 0).all()
    merged = artifacts.read_attrs(exp / "Mine/trial0/round1/merged.h5")
    assert json.loads(merged["spec"])["criterion"] == "my_extensions:hellinger"
    answers = pd.read_csv(exp / "Mine/trial0/round1/answers.csv")
    assert answers["clicks"].isin([1, 2]).all()
    assert (exp / "report/rounds.html").exists()


def test_a_missing_extension_is_refused_by_a_dry_run(tmp_path):
    for function, says in [("no_such_module:score", "cannot import module 'no_such_module'"),
                           ("my_extensions:no_such_function", "has no 'no_such_function'")]:
        config = tiny_config(methods=["SP", "Mine"],
                             method_definitions={"Mine": {"base": "SP",
                                                          "acquire": {"function": function}}})
        write_config(tmp_path, config)
        proc = with_examples(tmp_path, "-n", check=False)
        assert proc.returncode != 0
        out = proc.stdout + proc.stderr
        assert "method_definitions.Mine.acquire.function" in out and says in out, out[-2000:]
    # the same module and function exist: the plan goes through
    config["method_definitions"]["Mine"]["acquire"]["function"] = \
        "my_extensions:uncertainty_times_size"
    write_config(tmp_path, config)
    assert with_examples(tmp_path, "-n").returncode == 0


def artifacts_model(path):
    import torch

    return torch.load(path, map_location="cpu", weights_only=False)["state_dict"]


REGIME = re.compile(r"# ---- the regime.*?# ---- end of the regime\n", re.S)
SHARED = sorted((REPO / "workflow/configs/paper").glob("*.yaml")) + \
    sorted((REPO / "workflow/configs/beyond").glob("*.yaml"))


def test_paper_and_beyond_configs_share_one_regime():
    blocks = {path.name: REGIME.search(path.read_text()).group(0) for path in SHARED}
    assert len(blocks) == 7 and len(set(blocks.values())) == 1, sorted(blocks)


@pytest.mark.parametrize("path", SHARED, ids=[p.stem for p in SHARED])
def test_paper_and_beyond_configs_plan(path, tmp_path):
    """Each config passes a dry run, every method planned for every trial and round."""
    proc = subprocess.run([SNAKEMAKE, "-n", "--configfile", str(REPO / "config.yaml"),
                           str(path), "--cores", "2", "--directory", str(tmp_path),
                           "-s", str(REPO / "Snakefile")],
                          cwd=REPO, capture_output=True, text=True)
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-2000:]
    config = yaml.safe_load(path.read_text())
    jobs = planned_jobs(proc.stdout)
    n_full = sum(rule == "train_full" for rule, _ in jobs)
    assert n_full == (config["full_trials"] if "Full" in config["methods"] else 0)
    evaluated = {out for rule, out in jobs if rule == "evaluate"}
    for method in config["methods"]:
        if method == "Full" or "sweep" in config:
            continue
        for trial in range(config["trials"]):
            assert f"results/paper/{method}/trial{trial}/round{config['rounds']}/metrics.json" \
                in evaluated, (method, trial)
