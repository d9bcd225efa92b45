"""Command-line pieces that several stages share: the dataset and stage settings as JSON, a
shard of an image-wise stage, the device of a model-running stage, an experiment's config."""

from __future__ import annotations

import argparse
import json


def json_object(text: str) -> dict:
    """argparse type: a JSON object (the rule passes its params this way)."""
    try:
        value = json.loads(text)
    except json.JSONDecodeError as err:
        raise argparse.ArgumentTypeError(f"not valid JSON ({err}): {text!r}") from err
    if not isinstance(value, dict):
        raise argparse.ArgumentTypeError(f"expected a JSON object, got {text!r}")
    return value


def spec_from(cls, values: dict):
    """A stage's settings object from --spec; omitted keys take the class's defaults and an
    unknown key is refused by name."""
    known = set(cls.__dataclass_fields__)
    unknown = set(values) - known
    if unknown:
        raise SystemExit(f"error: unknown {cls.__name__} keys {sorted(unknown)}; "
                         f"known: {sorted(known)}")
    return cls(**values)


def add_dataset(p: argparse.ArgumentParser, required: bool = True) -> None:
    p.add_argument("--dataset", type=json_object, required=required, default=None,
                   help='JSON: {"name": ..., "root": ..., "resize": 1.0}')


def add_spec(p: argparse.ArgumentParser) -> None:
    p.add_argument("--spec", type=json_object, default={}, help="JSON stage settings")


def add_shard(p: argparse.ArgumentParser, what: str = "pool images") -> None:
    p.add_argument("--shard", type=int, default=0, help=f"this job's block of {what}")
    p.add_argument("--shards", type=int, default=1, help="number of blocks")


def add_device(p: argparse.ArgumentParser) -> None:
    p.add_argument("--device", default="auto", help="auto, cpu, cuda or cuda:N")
    p.add_argument("--threads", type=int, default=0, help="torch CPU threads (0: torch's own)")


def add_features(p: argparse.ArgumentParser) -> None:
    p.add_argument("--features", default=None, help="cached features (model feature_head)")


def add_config(p: argparse.ArgumentParser) -> None:
    p.add_argument("--config", nargs="+", default=["config.yaml"],
                   help="the experiment's config: config.yaml, then any file given to "
                        "snakemake --configfile (merged in that order)")
