"""Rule check_dataset, and the command `asal check-dataset --config ...`: what asal reads from
a dataset, checked before any other job that reads images or labels runs, so that masks read
wrongly stop a run instead of feeding it nonsense.

As a rule it writes a small summary that every job reading the dataset waits for: what
defines the data (a fingerprint of classes.json, the split lists, each image's and label file's
name, size and modification time), the mapping, and the pixels per class and split. The jobs
that read labels depend on it, so a change of what the labels mean reruns exactly them.
"""

from __future__ import annotations

import os
import sys

from .arguments import add_config, json_object

HELP = "print what asal reads from the dataset and check it"


def add_arguments(p) -> None:
    add_config(p, default=None)
    p.add_argument("--dataset", type=json_object, default=None,
                   help="the dataset settings (JSON), as the workflow passes them")
    p.add_argument("--one-size", default=None,
                   help="what needs every image at one size (refuse images of several sizes)")
    p.add_argument("--labels-optional", action="store_true",
                   help="a person answers the queries: pool images need no label map")
    p.add_argument("--allow-absent-classes", action="store_true",
                   help="accept a pool in which a declared class never occurs")
    p.add_argument("--out", default=None,
                   help="JSON: what defines the data, and pixels per class and split")


def main(args) -> bool:
    from ..experiment.config import dataset_settings, load_config, one_size_reason

    if args.dataset is not None:
        settings, one_size = args.dataset, args.one_size
        labels_optional, allow_absent = args.labels_optional, args.allow_absent_classes
    else:
        config = load_config(args.config or ["config.yaml"])
        settings = dataset_settings(config)
        one_size = one_size_reason(config["train"])
        labels_optional = config["oracle"] == "human"
        allow_absent = config["dataset"]["allow_absent_classes"]
        if settings["name"] == "synthetic" and not os.path.isdir(settings["root"]):
            raise FileNotFoundError(f"{settings['root']}: the synthetic dataset is made by "
                                    "the workflow; run snakemake first (rule synthesize)")
    ok = check_dataset(dataset=settings, one_size=one_size, labels_optional=labels_optional,
                       allow_absent_classes=allow_absent, out=args.out)
    if not ok:
        sys.exit(1)
    return ok


def check_dataset(*, dataset: dict, one_size: str | None = None,
                  labels_optional: bool = False, allow_absent_classes: bool = False,
                  out: str | None = None) -> bool:
    """Print the report; when the dataset passes, write its summary (if asked for). A dataset
    that does not pass writes nothing, so no job after it starts."""
    from ..data import dataset_check
    from ..data.datasets import dataset_from
    from ..data.files import fingerprint
    from ..store import artifacts

    ds = dataset_from(dataset)
    text, ok, summary = dataset_check.check_dataset(ds, allow_absent_classes, one_size,
                                                    labels_optional)
    print(text, flush=True)
    if not ok:
        print("asal check-dataset: the dataset is refused: fix the problems above, then run "
              "again; nothing after this check has run", file=sys.stderr)
        return False
    if out is not None:
        artifacts.write_json(out, {
            "dataset": dataset, "fingerprint": fingerprint(dataset),
            "mapping": ds.mapping.describe(), "pool": len(ds.pool),
            "evaluation": len(ds.evaluation), "read_sizes": summary["read_sizes"],
            "classes": summary["classes"], "pixels": summary["pixels"],
            "unlabelled": summary["unlabelled"]})
    return True
