"""The files each stage reads for one job, from the experiment's config: the one definition
that the Snakefile's input functions and the `--config` modes of `asal draw` and
`asal annotate` share, so a stage run by hand reads what the workflow gives it.

Every key of a job's inputs is the name of the stage's command-line option for that file
(`prev_stats` is `--prev-stats`), so the rule passes its inputs as options without naming
them a second time, and a path cannot land in another option's place. `DATASET` is the one
key that is not an option: the dataset files a job depends on.
"""

from __future__ import annotations

from ..store import layout
from .methods import is_off, stage_settings, superpixel_kind

# Stages that read the dataset's images or labels: their jobs wait for the dataset check;
# those that read labels depend on its summary, so a change of what the labels mean (which
# reruns the check) reruns exactly them. The others wait for it without depending on its
# date (DATASET_GATE, an `ancient` input in the rules; the images they read are in their
# params).
READS_DATASET = frozenset({"superpixelize", "superpixelize_oracle", "oracle_table", "features",
                           "predict", "sieve", "train", "train_full", "evaluate",
                           "evaluate_full", "annotate", "draw"})
READS_LABELS = frozenset({"superpixelize_oracle", "oracle_table", "train_full", "evaluate",
                          "evaluate_full", "draw"})
DATASET = "dataset_files"  # the input key of those files (a dependency, not an option)
DATASET_GATE = "dataset_gate"  # the same for stages that read images only: wait, never rerun


def full_trials(config: dict) -> int:
    """The trials that run method Full: the first `full_trials`, or every trial."""
    limit = config.get("full_trials")
    return config["trials"] if limit is None else min(int(limit), config["trials"])


def as_options(files) -> str:
    """(name, path or paths) pairs as a stage's command-line options, `--<name> <path>...`,
    quoted for the shell; empty entries and the dataset dependency are left out."""
    import shlex

    parts = []
    for name, paths in files:
        paths = [paths] if isinstance(paths, str) else list(paths)
        if paths and name not in (DATASET, DATASET_GATE):
            parts.append(" ".join(["--" + "-".join(name.split("_"))]
                                  + [shlex.quote(str(p)) for p in paths]))
    return " ".join(parts)


class Inputs:
    """What every stage of one experiment reads, by job."""

    def __init__(self, config: dict, methods: list[str] | None = None,
                 warmups: list[str] | None = None):
        self.config = config
        self.experiment = config["experiment"]
        self.methods, self.warmups = methods or [], warmups or []
        self.human = config["oracle"] == "human"
        self.shards = config["compute"]["shards"]
        self._kinds: dict[str, str] = {}  # a DAG asks once per job: look each method up once

    # ------------------------------------------------------------ paths
    def path(self, pattern: str, **wildcards) -> str:
        return layout.fill(pattern, experiment=self.experiment, **wildcards)

    def this_round(self, kind: str, method: str, trial, round) -> str:
        return self.path(layout.round_file(kind), method=method, trial=trial, round=round)

    def previous(self, kind: str, method: str, trial, round) -> str:
        """The same artifact of round t-1 of the method; round 0 is its trial's warm-up.
        The one link from a round to the one before it."""
        r = int(round) - 1
        source = layout.source_method(method, r, self.superpixel_kind(method))
        return self.this_round(kind, source, trial, r)

    def superpixel_kind(self, method: str) -> str:
        if method not in self._kinds:
            self._kinds[method] = superpixel_kind(self.config, method)
        return self._kinds[method]

    def superpixels_file(self, method: str) -> str:
        return self.path(layout.SUPERPIXELS, spx=self.superpixel_kind(method))

    def oracle_table_file(self, method: str) -> str:
        return self.path(layout.ORACLE_TABLE, spx=self.superpixel_kind(method))

    def features_files(self) -> list[str]:
        """The cached features of a feature head (none for networks over pixels)."""
        train = self.config["train"]
        if train["model"] != "feature_head":
            return []
        return [self.path(layout.FEATURES, encoder=train["encoder"])]

    def dataset_files(self) -> list[str]:
        """What a stage that reads images or labels waits for: the dataset check."""
        return [self.path(layout.DATASET_CHECK)]

    def check_dataset(self) -> dict:
        """The check reads the dataset itself; the synthetic one is made by the workflow."""
        if self.config["dataset"]["name"] == "synthetic":
            return {DATASET: [self.path(layout.DATASET_DONE)]}
        return {}

    # ------------------------------------------------------------ per stage
    def of(self, stage: str, **wildcards) -> dict:
        """The inputs of one job of `stage`, by option name (plus DATASET where it reads
        images or labels)."""
        files = getattr(self, stage)(**{k: v for k, v in wildcards.items() if k != "shard"})
        if stage in READS_LABELS:
            files[DATASET] = self.dataset_files()
        elif stage in READS_DATASET:
            files[DATASET_GATE] = self.dataset_files()
            files[DATASET] = self.check_dataset().get(DATASET, [])  # a remade synthetic set
        return files

    def superpixelize(self, **_) -> dict:
        return {}

    superpixelize_oracle = features = superpixelize

    def oracle_table(self, spx: str) -> dict:
        return {"superpixels": self.path(layout.SUPERPIXELS, spx=spx)}

    def gather_superpixels(self, spx: str) -> dict:
        return {"shard_files": [self.path(layout.SUPERPIXEL_SHARD, spx=spx, shard=k)
                                for k in range(self.shards)]}

    def gather_features(self, encoder: str) -> dict:
        return {"shard_files": [self.path(layout.FEATURE_SHARD, encoder=encoder, shard=k)
                                for k in range(self.shards)]}

    def gather_stats(self, method: str, trial, round) -> dict:
        return {"shard_files": [self.path(layout.round_file("stats_shard"), method=method,
                                          trial=trial, round=round, shard=k)
                                for k in range(self.shards)]}

    def warmup(self, method: str, trial) -> dict:
        return {"superpixels": self.superpixels_file(method)}

    def merge(self, method: str, trial, round) -> dict:
        return {"superpixels": self.superpixels_file(method),
                "stats": self.previous("stats", method, trial, round),
                "labelled": self.previous("labelled", method, trial, round)}

    def acquire(self, method: str, trial, round) -> dict:
        return {**self.merge(method, trial, round),
                "merged": self.this_round("merged", method, trial, round)}

    def _answered(self, method: str, trial, round) -> dict:
        """The queries, and after round 0 the merged regions and the labelled set so far."""
        files = {"queries": self.this_round("queries", method, trial, round)}
        if int(round) > 0:
            files["merged"] = self.this_round("merged", method, trial, round)
            files["labelled"] = self.previous("labelled", method, trial, round)
        return files

    def query(self, method: str, trial, round) -> dict:
        return {**self._answered(method, trial, round),
                "oracle_table": self.oracle_table_file(method)}

    def annotate(self, method: str, trial, round) -> dict:
        """The human oracle: the page shows the superpixels, not the ground truth."""
        return {**self._answered(method, trial, round), "superpixels": self.superpixels_file(method)}

    def sieve(self, method: str, trial, round) -> dict:
        files = {"superpixels": self.superpixels_file(method),
                 "labelled": self.this_round("labelled", method, trial, round)}
        settings = stage_settings(self.config, method, "sieve")
        if int(round) > 0 and not is_off("sieve", settings):
            files["model"] = self.previous("model", method, trial, round)
            files["features"] = self.features_files()
            if settings["scope"] == "new":
                files["previous"] = self.previous("sieved", method, trial, round)
        return files

    def train(self, method: str, trial, round) -> dict:
        files = {"superpixels": self.superpixels_file(method),
                 "sieved": self.this_round("sieved", method, trial, round),
                 "labelled": self.this_round("labelled", method, trial, round),
                 "features": self.features_files()}
        if int(round) > 0 and self.config["train"]["init"] == "previous":
            files["init"] = self.previous("model", method, trial, round)
        return files

    def predict(self, method: str, trial, round) -> dict:
        return {"superpixels": self.superpixels_file(method),
                "model": self.this_round("model", method, trial, round),
                "features": self.features_files()}

    def evaluate(self, method: str, trial, round) -> dict:
        """The round's model and labels, and for the diagnostics the oracle table, the
        round's merged regions and theta_{t-1}'s statistics (none in round 0)."""
        files = {name: self.this_round(name, method, trial, round)
                 for name in ("model", "labelled", "sieved", "answers")}
        files.update(superpixels=self.superpixels_file(method), features=self.features_files())
        if not self.human:  # a person's pool has no ground truth to diagnose with
            files["oracle_table"] = self.oracle_table_file(method)
        if int(round) > 0:
            files["merged"] = self.this_round("merged", method, trial, round)
            files["prev_stats"] = self.previous("stats", method, trial, round)
        return files

    def train_full(self, trial) -> dict:
        return {"features": self.features_files()}

    def evaluate_full(self, trial) -> dict:
        return {"model": self.path(layout.full_file("model"), trial=trial),
                "features": self.features_files()}

    def draw(self, method: str, trial, round) -> dict:
        """One round's artifacts; for the pictures across rounds, the merged regions of
        rounds 1..t (never a later round's); for the class-balance figure, what acquire
        read (theta_{t-1}'s statistics, the labelled set before the round) and the oracle
        table."""
        files = {name: self.this_round(name, method, trial, round)
                 for name in ("answers", "labelled", "sieved", "model")}
        files.update(superpixels=self.superpixels_file(method), features=self.features_files(),
                     merged=[self.this_round("merged", method, trial, r)
                             for r in range(1, int(round) + 1)])
        if int(round) > 0:
            files["stats"] = self.previous("stats", method, trial, round)
            files["previous_labelled"] = self.previous("labelled", method, trial, round)
            if not self.human:
                files["oracle_table"] = self.oracle_table_file(method)
        return files

    def report(self, **_) -> dict:
        """Every round's metrics: the warm-ups', each method's rounds, Full's."""
        trials = range(self.config["trials"])
        rounds = range(1, self.config["rounds"] + 1)
        files = [self.this_round("metrics", w, t, 0) for w in self.warmups for t in trials]
        files += [self.this_round("metrics", m, t, r)
                  for m in self.methods if m != layout.FULL for t in trials for r in rounds]
        if layout.FULL in self.methods:
            files += [self.path(layout.full_file("metrics"), trial=t)
                      for t in range(full_trials(self.config))]
        out = {"metrics": files,
               # pixels per class and split: the majority-class baseline beside Full
               "dataset_check": self.path(layout.DATASET_CHECK)}
        # each kind's achieved superpixel size, and each class's share of the pool's pixels
        kinds = sorted({self.superpixel_kind(m) for m in self.methods if m != layout.FULL})
        out["superpixels"] = [self.path(layout.SUPERPIXELS, spx=k) for k in kinds
                              if k != "oracle"]
        if not self.human and kinds:
            baseline = self.config["report"]["baseline"]
            kind = (self.superpixel_kind(baseline) if baseline in self.methods
                    else next(k for k in kinds if k != "oracle") if set(kinds) - {"oracle"}
                    else kinds[0])
            out["oracle_table"] = self.path(layout.ORACLE_TABLE, spx=kind)
        return out

    def last_model(self, method: str, trial) -> str:
        """A method's model after its last round (Full's, for Full): what segment applies."""
        if method == layout.FULL:
            return self.path(layout.full_file("model"), trial=trial)
        last = self.config["rounds"]
        source = layout.source_method(method, last, self.superpixel_kind(method))
        return self.this_round("model", source, trial, last)

    def pictures(self) -> list[str]:
        """The picture folders of trial 0: the warm-ups', then every round of every method."""
        folders = [self.path(layout.PICTURES, method=w, trial=0, round=0) for w in self.warmups]
        folders += [self.path(layout.PICTURES, method=m, trial=0, round=r)
                    for m in self.methods if m != layout.FULL
                    for r in range(1, self.config["rounds"] + 1)]
        return folders

