"""asal.experiment.inputs: the files each stage reads for one job, named after the stage's own
options, with one link from a round to the one before it."""

from __future__ import annotations

import argparse

import pytest
import yaml

from asal import cli
from asal.experiment.inputs import (DATASET, DATASET_GATE, READS_DATASET, READS_LABELS, Inputs,
                                    as_options)
from asal.experiment.settings import checked_config

from workflow_helpers import REPO


@pytest.fixture(scope="module")
def inputs():
    config = yaml.safe_load((REPO / "config.yaml").read_text())
    config.update(methods=["SP", "AMSP+S", "SP-slic"], rounds=3,
                  method_definitions={"SP-slic": {"base": "SP", "superpixels": "slic"}},
                  sieve={**config["sieve"], "scope": "new"},
                  train={**config["train"], "init": "previous"})
    return Inputs(checked_config(config), ["SP", "AMSP+S", "SP-slic"], ["warmup", "warmup-slic"])


JOBS = {  # stage -> wildcards of one job
    "oracle_table": {"spx": "seeds"}, "warmup": {"method": "warmup", "trial": 0},
    **{stage: {"method": "AMSP+S", "trial": 1, "round": 2}
       for stage in ("merge", "acquire", "query", "annotate", "sieve", "train", "predict",
                     "evaluate", "draw")},
    "evaluate_full": {"trial": 0}, "report": {},
}


@pytest.mark.parametrize("stage", JOBS)
def test_every_input_is_an_option_of_its_stage(inputs, stage):
    command = {"evaluate_full": "evaluate"}.get(stage, stage).replace("_", "-")
    parser = argparse.ArgumentParser()
    cli.stage_module(command).add_arguments(parser)
    options = {o for action in parser._actions for o in action.option_strings}
    files = inputs.of(stage, **JOBS[stage])
    # a stage that reads the dataset waits for its check: as a dependency (labels) or as a
    # gate (images only)
    assert bool({DATASET, DATASET_GATE} & set(files)) == (stage in READS_DATASET)
    assert (DATASET_GATE in files) == (stage in READS_DATASET - READS_LABELS)
    for name in set(files) - {DATASET, DATASET_GATE}:
        assert "--" + name.replace("_", "-") in options, (stage, name)


def test_round_t_reads_round_t_minus_1_and_round_1_the_warmup(inputs):
    r = "results/default/{}/trial1/round{}/{}"
    assert inputs.previous("stats", "AMSP+S", 1, 2) == r.format("AMSP+S", 1, "stats.h5")
    assert inputs.previous("labelled", "AMSP+S", 1, 1) == r.format("warmup", 0, "labelled.h5")
    assert inputs.previous("model", "SP-slic", 1, 1) == r.format("warmup-slic", 0, "model.pt")
    merge = inputs.of("merge", method="SP-slic", trial=1, round=1)
    assert merge["superpixels"] == "results/default/superpixels/slic.h5"
    assert merge["stats"] == r.format("warmup-slic", 0, "stats.h5")
    sieve = inputs.of("sieve", method="AMSP+S", trial=1, round=2)
    assert sieve["model"] == r.format("AMSP+S", 1, "model.pt")
    assert sieve["previous"] == r.format("AMSP+S", 1, "sieved.h5")  # scope new
    assert inputs.of("train", method="AMSP+S", trial=1, round=2)["init"] == \
        r.format("AMSP+S", 1, "model.pt")  # init previous


def test_draw_reads_its_round_and_earlier_ones_never_a_later_one(inputs):
    files = inputs.of("draw", method="AMSP+S", trial=0, round=2)
    assert files["merged"] == [f"results/default/AMSP+S/trial0/round{r}/merged.h5"
                               for r in (1, 2)]
    everything = [p for v in files.values() for p in ([v] if isinstance(v, str) else v)]
    assert not [p for p in everything if "round3" in p]
    assert files["stats"].endswith("AMSP+S/trial0/round1/stats.h5")
    assert files["previous_labelled"].endswith("AMSP+S/trial0/round1/labelled.h5")
    warm = inputs.of("draw", method="warmup", trial=0, round=0)
    assert warm["merged"] == [] and "stats" not in warm


def test_options_are_named_and_quoted():
    got = as_options([("superpixels", "a b.h5"), ("prev_stats", "s.h5"), ("merged", ["1", "2"]),
                      ("features", []), (DATASET, ["results/x/dataset/classes.json"])])
    assert got == "--superpixels 'a b.h5' --prev-stats s.h5 --merged 1 2"
