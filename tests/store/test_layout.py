"""Unit tests of asal.store.layout: every path pattern a rule uses is whole, so no rule edits one."""

import re

import pytest

from asal.store import layout


def test_log_and_benchmark_paths_by_scope():
    assert layout.log_file("merge") == \
        "results/logs/{experiment}/merge/{method}/trial{trial}/round{round}.log"
    assert layout.log_file("superpixelize", "superpixel_shard") == \
        "results/logs/{experiment}/superpixelize/{spx}.{shard}.log"
    assert layout.log_file("report", "experiment") == "results/logs/{experiment}/report.log"
    assert layout.benchmark_file("train_full", "trial") == \
        "results/benchmarks/{experiment}/train_full/trial{trial}.tsv"
    assert layout.benchmark_file("warmup", "warmup") == \
        "results/benchmarks/{experiment}/warmup/{method}/trial{trial}/round0.tsv"


def test_unknown_scope_is_refused():
    with pytest.raises(KeyError):
        layout.log_file("merge", "per_image")


def test_every_scope_uses_known_wildcards_only():
    known = {"spx", "shard", "encoder", "method", "trial", "round"}
    for scope, tail in layout.JOB_SCOPES.items():
        assert set(re.findall(r"{(\w+)}", tail)) <= known, scope


def test_warmup_and_oracle_patterns():
    assert layout.fill(layout.warmup_file("queries"), experiment="e", method="warmup",
                       trial=1) == "results/e/warmup/trial1/round0/queries.csv"
    assert layout.warmup_file("queries") == \
        layout.round_file("queries").replace("{round}", "0")
    assert layout.ORACLE_SUPERPIXELS == \
        layout.fill(layout.SUPERPIXELS, experiment="{experiment}", spx="oracle")
    assert layout.for_experiment(layout.SUPERPIXELS, "e") == "results/e/superpixels/{spx}.h5"
