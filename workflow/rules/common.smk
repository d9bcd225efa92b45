# What all rules share, in the anchors' order: imports, the config checked (defaults filled
# from the schema), constants, wildcard constraints, path providers, input functions (all
# `get_*`), then params and resources helpers. Paths come from asal.store.layout, each job's
# input files from asal.experiment.inputs (which `asal draw --config` and
# `asal annotate --config` use too). Nothing here imports OpenCV, torch or picture code:
# every job re-parses this file.
import json
import math
import os
import re
import shlex
import shutil
import sys

sys.path.insert(0, os.path.join(workflow.basedir, "workflow"))
# Jobs call the `asal` command; when it is not on PATH (snakemake started as
# `.venv/bin/snakemake` without activating the environment), use the one beside this snakemake.
if shutil.which("asal") is None:
    shell.prefix(f'set -euo pipefail; export PATH="{os.path.dirname(sys.executable)}:$PATH"; ')

from asal.data.files import parse_time_fingerprint
from asal.experiment.config import dataset_settings, one_size_reason
from asal.experiment.inputs import DATASET_GATE, Inputs, as_options, full_trials
from asal.experiment.methods import (check_methods, method_info, stage_settings,
                                     superpixel_kind, superpixel_settings, sweep_sizes,
                                     train_settings)
from asal.experiment.settings import checked_config, choices
from asal.method.superpixel_spec import SeedsSpec
from asal.store import layout


# ---------------------------------------------------------------- the config, checked
try:
    config.update(checked_config(config))
    METHODS = check_methods(config)
    DATASET_SETTINGS = dataset_settings(config)
    KIND_OF = {m: superpixel_kind(config, m) for m in METHODS if m != layout.FULL}
    for _kind in sorted(set(KIND_OF.values()) - {"oracle"}):  # seeds, slic, seeds@16px...
        SeedsSpec(**superpixel_settings(config, _kind))  # refused before any job, by key
except (ValueError, TypeError) as err:
    raise WorkflowError(str(err) if str(err).startswith("config") else f"config: {err}")
HUMAN = config["oracle"] == "human"  # a person answers the queries on the labelling page
if DATASET_SETTINGS["evaluation_split"] is None and not HUMAN:
    raise WorkflowError("config: dataset.evaluation_split: null (no evaluation split) is only "
                        "for oracle: human; a simulated run evaluates every round: name a split")
if HUMAN and layout.FULL in METHODS:
    raise WorkflowError(f"config: methods: {layout.FULL} labels every pool pixel from the ground "
                        "truth, which a pool answered by a person (oracle: human) does not have; "
                        "drop it from methods")
if HUMAN and "oracle" in KIND_OF.values():
    raise WorkflowError("config: methods "
                        + ", ".join(m for m, k in KIND_OF.items() if k == "oracle")
                        + " build their superpixels from the ground truth, which a pool answered "
                        "by a person (oracle: human) does not have; drop them from methods")

# ---------------------------------------------------------------- constants
EXP = config["experiment"]
# Full (the fully supervised ceiling) has no rounds: its own two rules, not the loop's.
FULL_ON = layout.FULL in METHODS
METHODS = [m for m in METHODS if m != layout.FULL]
WARMUP_OF = {m: layout.warmup_method(k) for m, k in KIND_OF.items()}
WARMUPS = sorted(set(WARMUP_OF.values()))
BASELINE = config["report"]["baseline"]
if BASELINE is not None and BASELINE not in config["methods"]:  # a sweep pairs by size
    logger.warning(f"config: report.baseline {BASELINE!r} is not among the methods {METHODS}: "
                   "the report has no paired differences (name one of the methods to get them)")
    BASELINE = None
INPUTS = Inputs(config, METHODS + ([layout.FULL] if FULL_ON else []), WARMUPS)
DATASET_JSON = json.dumps(DATASET_SETTINGS, sort_keys=True)
# What defines the data (classes.json, split lists, label files' names, sizes and times): a
# change reruns the dataset check, and through its summaries what read images or labels. The
# synthetic dataset is made by the workflow: its check follows the synthesize rule instead.
_ONE_SIZE = one_size_reason(config["train"])
CHECK_OPTIONS = " ".join(
    ([f"--one-size {shlex.quote(_ONE_SIZE)}"] if _ONE_SIZE else [])
    + (["--labels-optional"] if HUMAN else []))
# dataset.allow_absent_classes reaches the check as a resource, not a param: setting it lets a
# refused check pass without rerunning what read labels (only oracle_table takes it as a param).
ALLOW_ABSENT = "--allow-absent-classes" if config["dataset"]["allow_absent_classes"] else ""
# The dataset check's param, and the images' digest: a param of the rules that read images only.
DATASET_FINGERPRINT, DATASET_IMAGES = parse_time_fingerprint(DATASET_SETTINGS)
WARMUP_BUDGET = config["warmup_budget"] or config["budget"]
# segment.images: new images each method's last model segments (rule segment); their files
# are the rule's inputs, so an added image reruns it.
SEGMENT_FOLDER = config["segment"]["images"]
SEGMENT_IMAGES = []
if SEGMENT_FOLDER:
    if not os.path.isdir(SEGMENT_FOLDER):
        raise WorkflowError(f"config: segment.images: {SEGMENT_FOLDER}: no such folder; give "
                            "the folder of images to segment, or null")
    SEGMENT_IMAGES = sorted(os.path.join(SEGMENT_FOLDER, f) for f in os.listdir(SEGMENT_FOLDER)
                            if f.lower().endswith((".png", ".jpg", ".jpeg", ".tif", ".tiff",
                                                   ".bmp", ".webp")))
    if not SEGMENT_IMAGES:
        raise WorkflowError(f"config: segment.images: {SEGMENT_FOLDER}: no image (.png, .jpg, "
                            "...) in the folder")
SHARDS = config["compute"]["shards"]  # superpixelize, predict, features: this many jobs
DEVICE = config["compute"]["device"]
GPUS = config["compute"]["gpus_per_job"]
ANNOTATE = config["annotate"]
ENCODER_RE = "|".join(choices("train.encoder"))
REPORT_SETTINGS = config["report"]
SECOND_BASELINE = REPORT_SETTINGS["second_baseline"]
if REPORT_SETTINGS["figure"] == "size" and not sweep_sizes(config):
    raise WorkflowError("config: report.figure: size draws mIoU against base superpixel size; "
                        "list the sizes under sweep.superpixel_size")
KINDS = sorted(set(KIND_OF.values()))
WHAT_RAN = (f"{EXP}: {config['trials']} trial(s); a warm-up of {WARMUP_BUDGET} clicks, then "
            f"{config['rounds']} round(s) of {config['budget']} clicks; "
            f"model {config['train']['model']}, {config['train']['iterations']} iterations"
            + (f" ({config['train']['finetune_iterations']} continuing from theta_{{t-1}} in "
               "rounds 1 and later)" if config["train"].get("finetune_iterations") else "")
            + "; "
            + (f"Full on the first {full_trials(config)} trial(s); " if FULL_ON
               and full_trials(config) < config["trials"] else "")
            + 
            f"dataset {DATASET_SETTINGS['name']} at resize {DATASET_SETTINGS['resize']}; base "
            f"superpixels {', '.join(KINDS)} (target {config['superpixels']['size']} px unless "
            "marked).")

# ---------------------------------------------------------------- wildcard constraints
wildcard_constraints:
    trial=r"\d+",
    round=r"\d+",
    shard=r"\d+",


# seeds, slic, or either at another size than the experiment's (seeds@16px)
ALGORITHM_KIND_RE = f"(?:{'|'.join(layout.ALGORITHM_KINDS)})(?:@\\d+px)?"
METHOD_RE = "|".join(re.escape(m) for m in METHODS)
WARMUP_RE = "|".join(re.escape(m) for m in WARMUPS)
ANY_METHOD_RE = f"{METHOD_RE}|{WARMUP_RE}"


# ---------------------------------------------------------------- path providers
def results(pattern):
    """A layout pattern with this experiment filled in; other wildcards stay."""
    return layout.for_experiment(pattern, EXP)


def round_file(kind):
    return results(layout.round_file(kind))


def report_path(pattern):
    """A report summary file, in report/<report.name>/ when the config names one."""
    return results(layout.report_file(pattern, REPORT_SETTINGS["name"]))


def logs(rule, scope="round"):
    """Log pattern of a rule's jobs; scope names what one job is for (layout.JOB_SCOPES)."""
    return results(layout.log_file(rule, scope))


def benchmarks(rule, scope="round"):
    return results(layout.benchmark_file(rule, scope))


# ---------------------------------------------------------------- input functions
def get_input(stage):
    """The input function of the rules that run `stage`: the files it reads for the job, by
    option name (asal.experiment.inputs; round t reads round t-1 through Inputs.previous)."""

    def input_function(wildcards):
        files = INPUTS.of(stage, **wildcards)
        if DATASET_GATE in files:  # wait for the dataset check; its date reruns nothing
            files[DATASET_GATE] = [ancient(f) for f in files[DATASET_GATE]]
        return files

    return input_function


def get_pictures():
    """Pictures of trial 0: the warm-up, then every round of every method."""
    return INPUTS.pictures()


def get_segmentations():
    """With segment.images: each method's (and Full's) segmentation of them, every trial."""
    if not SEGMENT_FOLDER:
        return []
    return [layout.fill(layout.SEGMENT, experiment=EXP, method=m, trial=t)
            for m in METHODS + ([layout.FULL] if FULL_ON else [])
            for t in range(config["trials"])
            if m != layout.FULL or t < full_trials(config)]


# ---------------------------------------------------------------- params
def spec_json(settings):
    return json.dumps(settings, sort_keys=True)


def input_options(wildcards, input):
    """The job's input files as the stage's options (named after them, so a file cannot be
    passed as another)."""
    return as_options(input.items())


def shard_options(wildcards):
    return f"--shard {wildcards.shard} --shards {SHARDS}" if SHARDS > 1 else ""


# ---------------------------------------------------------------- job resources
# What each job asks a cluster (and the local scheduler) for comes from one table, config.yaml's
# `resources:` (runtime in minutes, mem_mb in MB per rule; the schema requires every entry). A
# retried job (attempt > 1) asks for retry_factor ** (attempt - 1) times as much of both. GPU
# rules also ask for `gpu=N` (compute.gpus_per_job), which snakemake-executor-plugin-slurm
# submits as `--gpus=N`, or `--gpus=<model>:N` with resources.slurm.gpu_model, and carry the
# device their stage runs on (compute.device): a resource, not a param, so that changing it
# reruns nothing (`--set-resources train:device=cuda` sets one rule's).
RESOURCES = config["resources"]
SLURM = RESOURCES["slurm"]


def _per_attempt(entry, key):
    base = RESOURCES[entry][key]
    factor = RESOURCES["retry_factor"]
    return lambda wildcards, attempt: int(math.ceil(base * factor ** (attempt - 1)))


def resources_of(entry, kind="cpu"):
    """A rule's resources: runtime and mem_mb from resources.<entry> (grown on every retry),
    the SLURM account and partition, and for kind "gpu" its GPUs and device. Helper rules
    name the entry of the stage they serve (gather_stats: predict; train_full: train)."""
    out = {"runtime": _per_attempt(entry, "runtime"), "mem_mb": _per_attempt(entry, "mem_mb")}
    if kind == "gpu":
        out.update(gpu=GPUS, device=DEVICE)
    return {**out, **slurm_of(kind)}


def slurm_of(kind):
    """SLURM account, partition (and GPU model for kind "gpu"), only those set in the config;
    unset ones are left to the plugin (guessed account, the cluster's default partition)."""
    settings = {}
    if SLURM["account"]:
        settings["slurm_account"] = SLURM["account"]
    partition = (SLURM["gpu_partition"] if kind == "gpu" else None) or SLURM["partition"]
    if partition:
        settings["slurm_partition"] = partition
    if kind == "gpu" and GPUS and SLURM["gpu_model"]:
        settings["gpu_model"] = SLURM["gpu_model"]
    return settings


# Jobs of a few seconds on small inputs: they run where snakemake runs instead of waiting in a
# cluster queue.
localrules:
    synthesize,
    report,
