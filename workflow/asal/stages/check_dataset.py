"""`asal check-dataset` (a command, not a rule): what asal reads from a dataset, checked before
any job runs, so that masks read wrongly stop a run instead of feeding it nonsense."""

from __future__ import annotations

import os
import sys

from .arguments import add_config

HELP = "print what asal reads from the dataset and check it"


def add_arguments(p) -> None:
    add_config(p)


def main(args) -> bool:
    from ..data.dataset_check import check_dataset
    from ..data.datasets import dataset_from
    from ..experiment.config import dataset_settings, load_config

    config = load_config(args.config)
    settings = dataset_settings(config)
    if settings["name"] == "synthetic" and not os.path.isdir(settings["root"]):
        raise FileNotFoundError(f"{settings['root']}: the synthetic dataset is made by the "
                                "workflow; run snakemake first (rule synthesize)")
    text, ok = check_dataset(dataset_from(settings),
                             config["dataset"]["allow_absent_classes"])
    print(text)
    if not ok:
        sys.exit(1)
    return ok
