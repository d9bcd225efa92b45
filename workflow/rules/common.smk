# Config validation, paths and helpers shared by all rules. Every path pattern comes from
# asal.store.layout, the one definition of the artifact layout.
import json
import os
import re
import shlex
import shutil
import sys

from snakemake.utils import validate

sys.path.insert(0, os.path.join(workflow.basedir, "workflow"))
# Jobs call the `asal` command; when it is not on PATH (snakemake started as
# `.venv/bin/snakemake` without activating the environment), use the one beside this snakemake.
if shutil.which("asal") is None:
    shell.prefix(f'set -euo pipefail; export PATH="{os.path.dirname(sys.executable)}:$PATH"; ')

from asal.experiment.config import dataset_settings
from asal.experiment.methods import (ConfigError, check_methods, method_info, stage_settings,
                                     superpixel_kind, superpixel_settings, sweep_sizes)
from asal.stages.draw import draw_settings
from asal.store import layout


if "draw_warmup" in (config.get("resources") or {}):
    raise WorkflowError("config: resources.draw_warmup is now resources.warmup (the rule that "
                        "draws round 0 was renamed warmup); rename the key")
validate(config, "../schemas/config.schema.yaml")

EXP = config["experiment"]
try:
    METHODS = check_methods(config)
except ConfigError as err:
    raise WorkflowError(f"config: {err}")
# Full (the fully supervised ceiling) has no rounds: its own two rules, not the loop's.
FULL_ON = layout.FULL in METHODS
METHODS = [m for m in METHODS if m != layout.FULL]
BASELINE = (config.get("report") or {}).get("baseline", "SP")
if BASELINE is not None and BASELINE not in config["methods"]:  # a sweep pairs by size
    logger.warning(f"config: report.baseline {BASELINE!r} is not among the methods {METHODS}: "
                   "the report has no paired differences (name one of the methods to get them)")
    BASELINE = None
TRIALS = list(range(config["trials"]))
ROUNDS = list(range(config["rounds"] + 1))
WARMUP_BUDGET = config.get("warmup_budget") or config["budget"]
GPUS = config.get("compute", {}).get("gpus_per_job", 1)
# Image-wise stages (superpixelize, predict) split into this many parallel jobs, then gathered.
SHARDS = config.get("compute", {}).get("shards", 1)
DEVICE = config.get("compute", {}).get("device", "auto")
# Who answers the queries: the ground truth (simulated) or a person on the labelling page.
ORACLE = config.get("oracle", "simulated")
HUMAN = ORACLE == "human"
if HUMAN and FULL_ON:
    raise WorkflowError(f"config: methods: {layout.FULL} labels every pool pixel from the ground "
                        "truth, which a pool answered by a person (oracle: human) does not have; "
                        "drop it from methods")
ANNOTATE = {"host": "127.0.0.1", "port": 8765, "annotator": None, "finish_when_done": False,
            **(config.get("annotate") or {})}


def P(pattern):
    """A layout pattern with this experiment filled in; other wildcards stay."""
    return layout.for_experiment(pattern, EXP)


def R(kind):
    return P(layout.round_file(kind))


def LOG(rule, scope="round"):
    """Log pattern of a rule's jobs; scope names what one job is for (layout.JOB_SCOPES)."""
    return P(layout.log_file(rule, scope))


def BENCH(rule, scope="round"):
    return P(layout.benchmark_file(rule, scope))


# train.model feature_head: a frozen encoder's features, computed once (rule features), are
# what train, predict, sieve and evaluate read instead of images.
USES_FEATURES = config["train"].get("model") == "feature_head"
ENCODER = config["train"].get("encoder", "efficientnet_lite0")
FEATURES_FILE = P(layout.FEATURES).format(encoder=ENCODER) if USES_FEATURES else None
FEATURES_INPUT = [FEATURES_FILE] if USES_FEATURES else []
FEATURES_ARG = f"--features {FEATURES_FILE}" if USES_FEATURES else ""


try:
    DATASET = dataset_settings(config)
except ValueError as err:
    raise WorkflowError(str(err))
if DATASET.get("evaluation_split") is None and not HUMAN:
    raise WorkflowError("config: dataset.evaluation_split: null (no evaluation split) is only "
                        "for oracle: human; a simulated run evaluates every round: name a split")
DATASET_JSON = json.dumps(DATASET, sort_keys=True)
try:
    KIND_OF = {m: superpixel_kind(config, m) for m in METHODS}
except ConfigError as err:
    raise WorkflowError(f"config: {err}")
KINDS = sorted(set(KIND_OF.values()))
# seeds, slic, or either at another size than the experiment's (seeds@16px)
ALGORITHM_KIND_RE = f"(?:{'|'.join(layout.ALGORITHM_KINDS)})(?:@\\d+px)?"
try:  # a bad superpixel setting is refused before any job, naming its key
    from asal.method.superpixels import SeedsSpec

    for _kind in KINDS:
        if _kind != "oracle":
            SeedsSpec(**superpixel_settings(config, _kind))
except (ValueError, TypeError) as err:
    raise WorkflowError(f"config: {err}")
if HUMAN and any(kind == "oracle" for kind in KINDS):
    raise WorkflowError("config: methods "
                        + ", ".join(m for m, k in KIND_OF.items() if k == "oracle")
                        + " build their superpixels from the ground truth, which a pool answered "
                        "by a person (oracle: human) does not have; drop them from methods")
WARMUP_OF = {m: layout.warmup_method(k) for m, k in KIND_OF.items()}
WARMUPS = sorted(set(WARMUP_OF.values()))
REPORT_SETTINGS = config.get("report") or {}
SECOND_BASELINE = REPORT_SETTINGS.get("second_baseline")


def REPORT(pattern):
    """A report summary file, in report/<report.name>/ when the config names one."""
    return P(layout.report_file(pattern, REPORT_SETTINGS.get("name")))


REPORT_TABLE = REPORT(layout.REPORT_TABLE)
REPORT_PLOT = REPORT(layout.REPORT_PLOT)
if REPORT_SETTINGS.get("figure") == "size" and not sweep_sizes(config):
    raise WorkflowError("config: report.figure: size draws mIoU against base superpixel size; "
                        "list the sizes under sweep.superpixel_size")
# The report reads each kind's achieved superpixel size and the classes' pool shares.
REPORT_SUPERPIXELS = [P(layout.SUPERPIXELS).format(spx=k) for k in KINDS if k != "oracle"]
REPORT_ORACLE = [] if HUMAN else [P(layout.ORACLE_TABLE).format(spx=KIND_OF.get(BASELINE)
                                                                 or KINDS[0])]
WHAT_RAN = (f"{EXP}: {len(TRIALS)} trial(s); a warm-up of {WARMUP_BUDGET} clicks, then "
            f"{config['rounds']} round(s) of {config['budget']} clicks; "
            f"model {config['train']['model']}, {config['train']['iterations']} iterations; "
            f"dataset {DATASET['name']} at resize {DATASET.get('resize', 1.0)}; base "
            f"superpixels {', '.join(KINDS)} (target {config['superpixels']['size']} px unless "
            "marked).")

METHOD_RE = "|".join(re.escape(m) for m in METHODS)
WARMUP_RE = "|".join(re.escape(m) for m in WARMUPS)
ANY_METHOD_RE = f"{METHOD_RE}|{WARMUP_RE}"


def superpixels_of(wildcards):
    """Input function: the base superpixels the job's method works on."""
    return P(layout.SUPERPIXELS).format(spx=superpixel_kind(config, wildcards.method))


def oracle_table_of(wildcards):
    return P(layout.ORACLE_TABLE).format(spx=superpixel_kind(config, wildcards.method))


def spec_json(settings):
    return json.dumps(settings, sort_keys=True)


def prev(kind):
    """Input function: the same artifact of the previous round (round 0 is the warm-up's)."""

    def path(wildcards):
        r = int(wildcards.round) - 1
        spx = superpixel_kind(config, wildcards.method)
        return str(layout.round_path(kind, EXP, layout.source_method(wildcards.method, r, spx),
                                     wildcards.trial, r))

    return path


def all_metrics():
    files = [R("metrics").format(method=w, trial=t, round=0) for w in WARMUPS for t in TRIALS]
    files += [R("metrics").format(method=m, trial=t, round=r)
              for m in METHODS for t in TRIALS for r in ROUNDS[1:]]
    if FULL_ON:
        files += [P(layout.full_file("metrics")).format(trial=t) for t in TRIALS]
    return files


wildcard_constraints:
    trial=r"\d+",
    round=r"\d+",


def optional(flag, path):
    return f"{flag} {path}" if path else ""


def query_inputs(wc):
    inputs = {"queries": R("queries").format(**wc)}
    if HUMAN:  # no ground truth: the page needs the images and the superpixels
        inputs["superpixels"] = superpixels_of(wc)
    else:
        inputs["table"] = oracle_table_of(wc)
    if int(wc.round) > 0:
        inputs["merged"] = R("merged").format(**wc)
        inputs["labelled"] = prev("labelled")(wc)
    return inputs


def sieve_inputs(wc):
    inputs = {"superpixels": superpixels_of(wc), "labelled": R("labelled").format(**wc),
              "features": FEATURES_INPUT}
    settings = stage_settings(config, wc.method, "sieve")
    if int(wc.round) > 0 and settings["threshold"] != "none":
        inputs["model"] = prev("model")(wc)
        if settings["scope"] == "new":
            inputs["previous"] = prev("sieved")(wc)
    return inputs


def evaluate_inputs(wc):
    """The round's model and labels, and for the diagnostics the oracle table, the round's
    merged regions and theta_{t-1}'s statistics (none in round 0)."""
    inputs = {"model": R("model").format(**wc), "labelled": R("labelled").format(**wc),
              "superpixels": superpixels_of(wc), "sieved": R("sieved").format(**wc),
              "answers": R("answers").format(**wc), "features": FEATURES_INPUT}
    if not HUMAN:  # a person's pool has no ground truth to diagnose with
        inputs["oracle"] = oracle_table_of(wc)
    if int(wc.round) > 0:
        inputs["merged"] = R("merged").format(**wc)
        inputs["prev_stats"] = prev("stats")(wc)
    return inputs


def train_inputs(wc):
    inputs = {"superpixels": superpixels_of(wc), "sieved": R("sieved").format(**wc),
              "features": FEATURES_INPUT}
    if int(wc.round) > 0 and config["train"].get("init") == "previous":
        inputs["init"] = prev("model")(wc)
    return inputs


# ---------------------------------------------------------------- job resources
# What each job asks a cluster (and the local scheduler) for comes from one table, config.yaml's
# `resources:` (runtime in minutes, mem_mb in MB per rule; the schema requires every entry). A
# retried job (attempt > 1) asks for retry_factor ** (attempt - 1) times as much of both. GPU
# rules also ask for `gpu=N` (compute.gpus_per_job), which snakemake-executor-plugin-slurm
# submits as `--gpus=N`, or `--gpus=<model>:N` with resources.slurm.gpu_model.
import math

RESOURCES = config["resources"]
RETRY_FACTOR = RESOURCES.get("retry_factor", 1.5)
SLURM = RESOURCES.get("slurm") or {}


def _per_attempt(entry, key):
    base = RESOURCES[entry][key]
    return lambda wildcards, attempt: int(math.ceil(base * RETRY_FACTOR ** (attempt - 1)))


def resources_of(entry, kind="cpu"):
    """A rule's resources: runtime and mem_mb from resources.<entry> (grown on every retry),
    the SLURM account and partition, and for kind "gpu" its GPUs. Helper rules name the entry
    of the stage they serve (gather_stats: predict; train_full: train)."""
    out = {"runtime": _per_attempt(entry, "runtime"), "mem_mb": _per_attempt(entry, "mem_mb")}
    if kind == "gpu":
        out["gpu"] = GPUS
    return {**out, **slurm_of(kind)}


def slurm_of(kind):
    """SLURM account, partition (and GPU model for kind "gpu"), only those set in the config;
    unset ones are left to the plugin (guessed account, the cluster's default partition)."""
    settings = {}
    if SLURM.get("account"):
        settings["slurm_account"] = SLURM["account"]
    partition = (SLURM.get("gpu_partition") if kind == "gpu" else None) or SLURM.get("partition")
    if partition:
        settings["slurm_partition"] = partition
    if kind == "gpu" and GPUS and SLURM.get("gpu_model"):
        settings["gpu_model"] = SLURM["gpu_model"]
    return settings


# Jobs of a few seconds on small inputs: they run where snakemake runs instead of waiting in a
# cluster queue.
localrules:
    synthesize,
    report,


def draw_inputs(wildcards):
    """What `asal draw` reads for one round; listed so the pictures follow their artifacts."""
    kinds = ["metrics", "answers", "labelled", "sieved", "model"]
    files = {k: R(k).format(**wildcards) for k in kinds}
    files["features"] = FEATURES_INPUT
    if int(wildcards.round) > 0:
        files["merged"] = R("merged").format(**wildcards)
        files["stats"] = prev("stats")(wildcards)
    return files


def all_pictures():
    """Pictures of trial 0: the warm-up, then every round of every method."""
    folders = [P(layout.PICTURES).format(method=w, trial=0, round=0) for w in WARMUPS]
    folders += [P(layout.PICTURES).format(method=m, trial=0, round=r)
                for m in METHODS for r in ROUNDS[1:]]
    return folders
