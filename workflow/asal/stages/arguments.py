"""Command-line pieces that several stages share, and the one way an entry point calls its
stage function: every parsed option by its own name, as a keyword argument."""

from __future__ import annotations

import argparse
import inspect
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
    """A stage's settings object from --spec; omitted keys take the class's defaults (the
    schema's) and an unknown key is refused by name."""
    known = set(cls.__dataclass_fields__)
    unknown = set(values) - known
    if unknown:
        raise ValueError(f"unknown {cls.__name__} keys {sorted(unknown)}; known: "
                         f"{sorted(known)}")
    return cls(**values)


def add_spec(p: argparse.ArgumentParser, cls) -> None:
    """--spec: the JSON of the stage's settings object `cls`, checked while parsing."""
    def parse(text: str):
        try:
            return spec_from(cls, json_object(text))
        except (ValueError, TypeError) as err:
            raise argparse.ArgumentTypeError(str(err)) from err

    p.add_argument("--spec", type=parse, default=None,
                   help=f"JSON settings ({cls.__name__}); omitted keys take their defaults")
    p.set_defaults(spec_class=cls)


def add_inputs(p: argparse.ArgumentParser, *names: str, required: bool = True,
               many: bool = False) -> None:
    """Input files, one option each, named as the rule's inputs are."""
    for name in names:
        p.add_argument(name, required=required, default=[] if many else None,
                       nargs="*" if many else None)


def add_dataset(p: argparse.ArgumentParser, required: bool = True) -> None:
    p.add_argument("--dataset", type=json_object, required=required, default=None,
                   help='JSON: {"name": ..., "root": ..., "resize": 1.0}')


def add_shard(p: argparse.ArgumentParser, what: str = "pool images") -> None:
    p.add_argument("--shard", type=int, default=0, help=f"this job's block of {what}")
    p.add_argument("--shards", type=int, default=1, help="number of blocks")


def add_device(p: argparse.ArgumentParser) -> None:
    p.add_argument("--device", default="auto", help="auto, cpu, cuda or cuda:N")
    p.add_argument("--threads", type=int, default=0, help="torch CPU threads (0: torch's own)")


def add_features(p: argparse.ArgumentParser) -> None:
    p.add_argument("--features", default=None, help="cached features (model feature_head)")


def add_config(p: argparse.ArgumentParser, default=("config.yaml",)) -> None:
    p.add_argument("--config", nargs="+", default=None if default is None else list(default),
                   help="the experiment's config: config.yaml, then any file given to "
                        "snakemake --configfile (merged in that order)")


def run_stage(function, args: argparse.Namespace, **derived):
    """Call a stage function with every parsed option as the keyword argument of the same
    name (`derived` replaces or adds values computed from the options). An option the
    function does not take is an error, so an option and a parameter cannot drift apart."""
    given = {k: v for k, v in vars(args).items() if k not in ("entry", "command", "spec_class")}
    if getattr(args, "spec_class", None) and args.spec is None:  # no --spec: every default
        given["spec"] = args.spec_class()
    given.update(derived)
    unknown = set(given) - set(inspect.signature(function).parameters)
    if unknown:
        raise TypeError(f"{function.__name__} takes no {sorted(unknown)}")
    return function(**given)
