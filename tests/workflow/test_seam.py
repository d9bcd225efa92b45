"""The seam between the workflow and the stages, on a real tiny run: a stage reads only the
files its rule passes; run by hand from its log it makes the workflow's artifact, with or
without the settings that are at their defaults; pictures follow their own round's files;
how a job runs (threads, device) reruns nothing; parsing loads no heavy module."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path

import h5py
import pytest

from conftest import shared_config
from workflow_helpers import (REPO, SNAKEMAKE, data_differences, logged_command, planned_jobs,
                              run_stage, snakemake, tiny_config, write_config)

pytestmark = pytest.mark.workflow

METHODS = ["SP", "AMSP+S"]
ROUND2 = "tiny/AMSP+S/trial0/round2"
# One job of every stage (its log under results/logs/), and the options naming its outputs.
JOBS = {
    "synthesize": ("tiny/synthesize.log", ["--out"]),
    "superpixelize": ("tiny/superpixelize/seeds.log", ["--out"]),
    "oracle_table": ("tiny/oracle_table/seeds.log", ["--out"]),
    "warmup": ("tiny/warmup/warmup/trial0/round0.log", ["--out"]),
    "predict": ("tiny/predict/AMSP+S/trial0/round1.log", ["--out"]),
    "merge": (f"tiny/merge/{ROUND2[5:]}.log", ["--out"]),
    "acquire": (f"tiny/acquire/{ROUND2[5:]}.log", ["--out"]),
    "query": (f"tiny/query/{ROUND2[5:]}.log", ["--answers", "--labelled-out"]),
    "sieve": (f"tiny/sieve/{ROUND2[5:]}.log", ["--out"]),
    "train": (f"tiny/train/{ROUND2[5:]}.log", ["--out", "--log-out"]),
    "evaluate": (f"tiny/evaluate/{ROUND2[5:]}.log", ["--out"]),
    "draw": (f"tiny/draw/{ROUND2[5:]}.log", ["--out"]),
    "report": ("tiny/report.log", ["--table", "--plot", "--rounds", "--rounds-csv",
                                   "--paired", "--purity", "--figure-out"]),
    "check_dataset": ("tiny/check_dataset.log", ["--out"]),
}
# The config section of each stage's --spec.
SECTIONS = {"synthesize": "dataset.synthetic", "superpixelize": "superpixels",
            "merge": "merge", "acquire": "acquire", "sieve": "sieve", "train": "train",
            "draw": "draw"}


@pytest.fixture
def run(tiny_run):
    """The shared tiny run (tests/workflow/conftest.py); tests that change it put it back."""
    return tiny_run[0]


def outputs_of(argv: list[str], options: list[str]) -> list[str]:
    return [argv[argv.index(o) + 1] for o in options]


def _is_file(workdir: Path, arg: str) -> bool:
    """Whether a command-line word names a file of the run (a long JSON value cannot)."""
    try:
        return (workdir / arg).exists()
    except OSError:  # a name longer than the file system allows
        return False


def sandbox_for(workdir: Path, argv: list[str], outputs: list[str], box: Path) -> Path:
    """A folder holding only what the command names: its input files (and the dataset
    folder its --dataset names), at the same relative paths."""
    box.mkdir(parents=True)
    named = [a for a in argv if a not in outputs and _is_file(workdir, a)]
    if "--dataset" in argv:
        named.append(json.loads(argv[argv.index("--dataset") + 1])["root"])
    for rel in named:
        (box / rel).parent.mkdir(parents=True, exist_ok=True)
        copy = shutil.copytree if (workdir / rel).is_dir() else shutil.copy2
        copy(workdir / rel, box / rel)
    return box


@pytest.mark.parametrize("stage", JOBS)
def test_a_stage_by_hand_from_its_log_reads_only_what_its_rule_passes(run, tmp_path, stage):
    """The first line of the job's log, run in a folder holding nothing but the files that
    line names, makes the workflow's artifact: every file a stage reads is on its command
    line, declared by its rule."""
    log, options = JOBS[stage]
    argv = logged_command(run, log)
    outputs = outputs_of(argv, options)
    box = sandbox_for(run, argv, outputs, tmp_path / "box")
    run_stage(argv, box)
    for rel in outputs:
        assert not data_differences(run / rel, box / rel), (stage, rel)


@pytest.mark.parametrize("stage", SECTIONS)
def test_settings_left_at_their_default_give_the_same_artifact(run, tmp_path, stage):
    """Run by hand with only the settings that differ from the schema's defaults, a stage
    makes what the workflow made from the full config: one default per key."""
    from asal.experiment.settings import defaults

    log, options = JOBS[stage]
    argv = logged_command(run, log)
    at = argv.index("--spec") + 1
    default = defaults(SECTIONS[stage])
    argv[at] = json.dumps({k: v for k, v in json.loads(argv[at]).items()
                           if k not in default or default[k] != v})
    outputs = outputs_of(argv, options)
    box = sandbox_for(run, argv, outputs, tmp_path / "box")
    run_stage(argv, box)
    for rel in outputs:
        assert not data_differences(run / rel, box / rel), (stage, argv[at])


def test_draw_follows_its_inputs(run, tmp_path):
    """The model on draw's command line is the one drawn (the other pictures stay), and a
    changed input of draw makes Snakemake redraw."""
    argv = logged_command(run, JOBS["draw"][0])
    round1_model = argv[argv.index("--model") + 1].replace("round2", "round1")
    argv[argv.index("--model") + 1] = round1_model
    argv[argv.index("--out") + 1] = str(tmp_path / "pictures")
    run_stage(argv, run)
    ours = run / "results/tiny/report/pictures/AMSP+S/trial0/round2"
    changed = {path.name for path in ours.glob("*.png")
               if data_differences(path, tmp_path / "pictures" / path.name)}
    assert changed == {"prediction_vs_truth.png"}

    copy = tmp_path / "copy"  # an earlier round's merged regions, changed in a copy
    shutil.copytree(run, copy, ignore=shutil.ignore_patterns("locks"))
    assert "Nothing to be done" in snakemake(copy, "-n").stdout
    with h5py.File(copy / "results/tiny/AMSP+S/trial0/round1/merged.h5", "a") as f:
        f.attrs["changed"] = 1
    plan = planned_jobs(snakemake(copy, "-n").stdout)
    assert ("draw", "results/tiny/report/pictures/AMSP+S/trial0/round2") in plan


def test_a_later_round_changes_no_earlier_picture(run, tmp_path):
    copy = tmp_path / "copy"
    shutil.copytree(run, copy, ignore=shutil.ignore_patterns(".snakemake"))
    target = "results/tiny/report/pictures/AMSP+S/trial0/round1"
    snakemake(copy, "--force", target)  # redrawn while round 2 exists
    before = tmp_path / "before"
    shutil.copytree(copy / target, before)
    shutil.rmtree(copy / "results/tiny/AMSP+S/trial0/round2")
    shutil.rmtree(copy / "results/tiny/report/pictures/AMSP+S/trial0/round2")
    snakemake(copy, "--force", target)
    assert not data_differences(before, copy / target)


def test_how_a_job_runs_reruns_nothing(run):
    """train.threads and compute.device say how a job runs, not what it makes: changing
    them reruns nothing; --set-threads and --set-resources reach the stage."""
    config = shared_config()
    config["train"]["threads"] = 2
    config["compute"]["device"] = "cpu"
    write_config(run, config)
    try:
        assert "Nothing to be done" in snakemake(run, "-n").stdout
        out = snakemake(run, "-n", "-p", "--forcerun", "train", "evaluate",
                        "--set-threads", "train=2",
                        "--set-resources", "evaluate:device=cuda").stdout
        train = [line for line in out.splitlines() if line.startswith("Shell command: asal train")]
        evaluate = [line for line in out.splitlines()
                    if line.startswith("Shell command: asal evaluate")]
        assert train and all("--threads 2 " in c and "--device cpu " in c for c in train)
        assert evaluate and all("--device cuda " in c for c in evaluate)
        config["train"]["iterations"] += 1  # a model setting: every training reruns
        write_config(run, config)
        rules = {rule for rule, _ in planned_jobs(snakemake(run, "-n").stdout)}
        assert "train" in rules
    finally:
        write_config(run, shared_config())


def test_parsing_the_snakefile_loads_no_opencv_torch_or_pictures(tmp_path):
    """Every job re-parses the Snakefile (on SLURM, once per job): it must stay light."""
    write_config(tmp_path, shared_config())
    wrapper = tmp_path / "Snakefile"
    wrapper.write_text(
        f'include: "{REPO / "Snakefile"}"\n'
        "import sys\n"
        # (Snakemake itself loads numpy, pandas and PIL.)
        'HEAVY = ("cv2", "torch", "matplotlib", "h5py", "numba", "scipy", "asal.stages",'
        ' "asal.reporting", "asal.learning.training", "asal.method.superpixels",'
        ' "asal.data.datasets", "asal.data.labelmaps", "asal.data.dataset_check")\n'
        'print("LOADED:", sorted(m for m in sys.modules if m.startswith(HEAVY)))\n')
    env = {**os.environ, "PATH": f"{Path(SNAKEMAKE).parent}{os.pathsep}{os.environ['PATH']}"}
    proc = subprocess.run([SNAKEMAKE, "-s", str(wrapper), "--directory", str(tmp_path), "-n",
                           "--cores", "1"], cwd=tmp_path, env=env, capture_output=True,
                          text=True)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert "LOADED: []" in proc.stdout, proc.stdout[:2000]


def test_draw_image_shows_one_image_in_every_round(run, tmp_path):
    """draw.image: every round of every method pictures the same pool image, so rounds and
    methods compare on it; setting it redraws the pictures and nothing else."""
    copy = tmp_path / "copy"
    shutil.copytree(run, copy, ignore=shutil.ignore_patterns("locks"))
    config = shared_config()
    config["draw"] = {"image": "pool_0004"}
    write_config(copy, config)
    assert {rule for rule, _ in planned_jobs(snakemake(copy, "-n").stdout)} == {"draw"}
    snakemake(copy)
    pictures = sorted(p for p in (copy / "results/tiny/report/pictures").glob("*/trial0/round*")
                      if p.parts[-3] in ["warmup", *METHODS])  # on SEEDS superpixels
    assert len(pictures) == 1 + 2 * len(METHODS)
    for folder in pictures:
        assert not data_differences(pictures[0] / "base_superpixels.png",
                                    folder / "base_superpixels.png"), folder
    log = f"tiny/draw/{ROUND2[5:]}.log"
    assert '"image": "pool_0004"' in " ".join(logged_command(copy, log))
