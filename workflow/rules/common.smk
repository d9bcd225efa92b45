# Config validation, paths and helpers shared by all rules. Every path pattern comes from
# asal.layout, the one definition of the artifact layout.
import json
import os
import re
import sys

from snakemake.utils import validate

sys.path.insert(0, os.path.join(workflow.basedir, "workflow"))
# Jobs call the `asal` command; make the one installed beside this snakemake visible even
# when its environment was not activated (e.g. `.venv/bin/snakemake`).
os.environ["PATH"] = os.path.dirname(sys.executable) + os.pathsep + os.environ.get("PATH", "")

from asal import layout
from asal.methods import ConfigError, check_methods, stage_settings


validate(config, "../schemas/config.schema.yaml")

EXP = config["experiment"]
try:
    METHODS = check_methods(config)
except ConfigError as err:
    raise WorkflowError(f"config: {err}")
TRIALS = list(range(config["trials"]))
ROUNDS = list(range(config["rounds"] + 1))
WARMUP_BUDGET = config.get("warmup_budget") or config["budget"]
GPUS = config.get("compute", {}).get("gpus_per_job", 1)
DEVICE = config.get("compute", {}).get("device", "auto")


def P(pattern):
    """A layout pattern with this experiment filled in; other wildcards stay."""
    return pattern.replace("{experiment}", EXP)


def R(kind):
    return P(layout.round_file(kind))


def LOG(rule, per_round=True):
    return P(layout.log_file(rule, per_round))


def BENCH(rule, per_round=True):
    return P(layout.benchmark_file(rule, per_round))


def dataset_settings():
    """What stages need to open the dataset; the synthetic one lives under results/."""
    ds = {k: v for k, v in config["dataset"].items() if k != "synthetic"}
    if ds["name"] == "synthetic":
        ds["root"] = P(layout.DATASET_DIR)
    elif not ds.get("root"):
        raise WorkflowError(f"config: dataset.root must be set for dataset {ds['name']!r}")
    ds.setdefault("resize", 1.0)
    ds.setdefault("evaluation_split", "val")
    return ds


DATASET = dataset_settings()
DATASET_JSON = json.dumps(DATASET, sort_keys=True)
SUPERPIXELS = P(layout.SUPERPIXELS)
ORACLE_TABLE = P(layout.ORACLE_TABLE)
REPORT_TABLE = P(layout.REPORT_TABLE)
REPORT_PLOT = P(layout.REPORT_PLOT)

METHOD_RE = "|".join(re.escape(m) for m in METHODS)
ANY_METHOD_RE = METHOD_RE + "|" + layout.WARMUP


def spec_json(settings):
    return json.dumps(settings, sort_keys=True)


def prev(kind):
    """Input function: the same artifact of the previous round (round 0 is the warm-up's)."""

    def path(wildcards):
        r = int(wildcards.round) - 1
        return str(layout.round_path(kind, EXP, layout.source_method(wildcards.method, r),
                                     wildcards.trial, r))

    return path


def all_metrics():
    files = [R("metrics").format(method=layout.WARMUP, trial=t, round=0) for t in TRIALS]
    files += [R("metrics").format(method=m, trial=t, round=r)
              for m in METHODS for t in TRIALS for r in ROUNDS[1:]]
    return files


wildcard_constraints:
    trial=r"\d+",
    round=r"\d+",
