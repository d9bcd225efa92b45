"""Where every artifact lives: the one place both the Snakefile and the CLI take paths from.

Paths are patterns with Snakemake-style wildcards ({experiment}, {method}, {trial},
{round}); `fill` turns one into a concrete path. Keeping them here means a change of layout
is one edit, and `asal show` can find any artifact from (method, trial, round).
"""

from __future__ import annotations

from pathlib import Path

RESULTS = "results"
WARMUP = "warmup"  # the pseudo-method whose round 0 every method of a trial shares
# Kinds of base superpixels: SEEDS, SLIC, or the ground truth's connected components (the
# upper-bound "oracle superpixels"). Methods on different kinds cannot share a warm-up.
SUPERPIXEL_KINDS = ("seeds", "slic", "oracle")
ALGORITHM_KINDS = ("seeds", "slic")  # the kinds made by a superpixel algorithm from images

EXPERIMENT = RESULTS + "/{experiment}"
DATASET_DIR = EXPERIMENT + "/dataset"
DATASET_DONE = DATASET_DIR + "/classes.json"
# The dataset check (rule check_dataset): every job that reads images or labels waits for it;
# those that read labels rerun when it changes (what the labels mean changed).
DATASET_CHECK = EXPERIMENT + "/dataset_check.json"
SUPERPIXELS = EXPERIMENT + "/superpixels/{spx}.h5"
ORACLE_SUPERPIXELS = EXPERIMENT + "/superpixels/oracle.h5"  # the ground truth's components
ORACLE_TABLE = EXPERIMENT + "/oracle/{spx}.h5"  # ground-truth histogram per base superpixel
# Blocks of pool images of the image-wise stages, when split into parallel jobs.
SUPERPIXEL_SHARD = EXPERIMENT + "/superpixels/shards/{spx}.{shard}.h5"
ROUND_DIR = EXPERIMENT + "/{method}/trial{trial}/round{round}"
# A frozen encoder's features of every image (train.model: feature_head), once per dataset.
FEATURES = EXPERIMENT + "/features/{encoder}.h5"
FEATURE_SHARD = EXPERIMENT + "/features/shards/{encoder}.{shard}.h5"
# The fully supervised ceiling: every pool pixel labelled, trained once per trial.
FULL = "Full"
FULL_DIR = EXPERIMENT + "/" + FULL + "/trial{trial}"

# One file per stage output inside a round folder.
ROUND_FILES = {
    "merged": "merged.h5",  # merge: region of every base superpixel
    "queries": "queries.csv",  # acquire / warmup: the B regions asked for
    "answers": "answers.csv",  # query: the oracle's dominant label of each query
    "labelled": "labelled.h5",  # query: every base superpixel's label so far
    "sieved": "sieved.h5",  # sieve: labelled pixels, kept or removed
    "model": "model.pt",  # train: checkpoint
    "train_log": "train_log.csv",  # train: loss per step
    "metrics": "metrics.json",  # evaluate
    "stats": "stats.h5",  # predict: per base superpixel statistics under this round's model
    "stats_shard": "shards/stats.{shard}.h5",  # predict, one block of images (compute.shards)
}

REPORT_DIR = EXPERIMENT + "/report"
REPORT_TABLE = REPORT_DIR + "/metrics.csv"
REPORT_PLOT = REPORT_DIR + "/miou_vs_clicks.png"
REPORT_ROUNDS = REPORT_DIR + "/rounds.html"  # per-round table, for people
REPORT_ROUNDS_CSV = REPORT_DIR + "/rounds.csv"  # the same table, for programs
REPORT_PAIRED = REPORT_DIR + "/paired.csv"  # per-trial differences to the baseline, 95% CI
REPORT_PURITY = REPORT_DIR + "/purity_vs_size.png"  # query purity against query size
REPORT_FIGURE = REPORT_DIR + "/figure.png"  # the figure the experiment leads with (report.figure)
PICTURES = REPORT_DIR + "/pictures/{method}/trial{trial}/round{round}"  # asal draw, one folder
# asal segment of the config's segment.images with a method's last model: NAME.png (class
# index) and NAME_overlay.png per image
SEGMENT = EXPERIMENT + "/segment/{method}/trial{trial}"


def report_file(pattern: str, name: str | None = None) -> str:
    """A report summary file in the folder of `report.name` (report/<name>/), so experiments
    that share one results folder, and so every job they have in common, each keep their own
    report; the pictures of rounds stay in report/pictures, shared."""
    if not name:
        return pattern
    return pattern.replace(REPORT_DIR + "/", f"{REPORT_DIR}/{name}/", 1)


LOGS = "logs/{experiment}"
BENCHMARKS = "benchmarks/{experiment}"


def round_file(kind: str) -> str:
    """Pattern of one round artifact, e.g. round_file("merged")."""
    return f"{ROUND_DIR}/{ROUND_FILES[kind]}"


def full_file(kind: str) -> str:
    """Pattern of one artifact of method Full (model, train_log, metrics): no rounds."""
    return f"{FULL_DIR}/{ROUND_FILES[kind]}"


# What one job of a rule is for, as the tail of its log and benchmark paths: the logs of a rule
# are logs/<experiment>/<rule><tail>.log, its benchmarks benchmarks/<experiment>/<rule><tail>.tsv.
JOB_SCOPES = {
    "experiment": "",  # once per experiment: synthesize, report
    "superpixels": "/{spx}",  # once per superpixel kind: superpixelize, oracle_table
    "superpixel_shard": "/{spx}.{shard}",  # one block of pool images (compute.shards)
    "features": "/{encoder}",
    "feature_shard": "/{encoder}.{shard}",
    "round": "/{method}/trial{trial}/round{round}",  # the loop's rules
    "round_shard": "/{method}/trial{trial}/round{round}.{shard}",  # predict in shards
    "warmup": "/{method}/trial{trial}/round0",  # warmup: round 0 only
    "trial": "/trial{trial}",  # method Full: train_full, evaluate_full
    "segment": "/{method}/trial{trial}",  # segment: a method's last model on new images
}


def log_file(rule: str, scope: str = "round") -> str:
    """Log pattern of a rule's jobs, under results/ beside the artifacts but apart from them."""
    return f"{RESULTS}/{LOGS}/{rule}{JOB_SCOPES[scope]}.log"


def benchmark_file(rule: str, scope: str = "round") -> str:
    """Benchmark (time and memory) pattern of a rule's jobs."""
    return f"{RESULTS}/{BENCHMARKS}/{rule}{JOB_SCOPES[scope]}.tsv"


def warmup_file(kind: str) -> str:
    """Pattern of a round-0 artifact of a warm-up pseudo-method (its round is always 0)."""
    return f"{EXPERIMENT}/{{method}}/trial{{trial}}/round0/{ROUND_FILES[kind]}"


def for_experiment(pattern: str, experiment: str) -> str:
    """A pattern with its experiment filled in and every other wildcard kept."""
    return pattern.replace("{experiment}", experiment)


def fill(pattern: str, **wildcards) -> str:
    """Concrete path from a pattern; every wildcard of the pattern must be given."""
    return pattern.format(**wildcards)


def round_path(kind: str, experiment: str, method: str, trial: int, round: int) -> Path:
    return Path(fill(round_file(kind), experiment=experiment, method=method, trial=trial,
                     round=round))


def warmup_method(spx: str) -> str:
    """The warm-up pseudo-method of the methods built on superpixels of kind `spx`."""
    return WARMUP if spx == "seeds" else f"{WARMUP}-{spx}"


def source_method(method: str, round: int, spx: str = "seeds") -> str:
    """Round 0 of every method is the shared warm-up of its trial."""
    return warmup_method(spx) if round == 0 else method
