"""The config schema as the one source of every setting's default and allowed values.

A stage's settings object (MergeSpec, TrainSpec, ...) takes its defaults from here, the
Snakefile and `load_config` fill a config's omitted keys from here, and a test checks the
schema's enums against the code's registries. So a stage run by hand with part of its
settings gets the same defaults as the workflow gives it.
"""

from __future__ import annotations

import copy
import functools
from pathlib import Path

import yaml

SCHEMA = Path(__file__).resolve().parents[2] / "schemas" / "config.schema.yaml"
# Config keys that were renamed: the schema would only say "unexpected"; this says what to do.
RENAMED = {("resources", "draw_warmup"): "resources.warmup (the rule that draws round 0 was "
                                         "renamed warmup)",
           ("train", "device"): "compute.device (the one device of every model stage)"}


class ConfigError(ValueError):
    """A config value is wrong; the message names the key."""


@functools.lru_cache(maxsize=None)
def schema() -> dict:
    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    return yaml.load(SCHEMA.read_text(), Loader=loader)


def _resolved(node: dict) -> dict:
    ref = node.get("$ref")
    return schema()["$defs"][ref.rsplit("/", 1)[1]] if ref else node


def section(path: str) -> dict:
    """The schema of a config section by its dotted path ("merge", "dataset.synthetic")."""
    node = schema()
    for key in path.split("."):
        node = _resolved(node["properties"][key])
    return node


def defaults(path: str) -> dict:
    """The default of every key of a section that has one."""
    return {key: copy.deepcopy(node["default"])
            for key, node in section(path)["properties"].items() if "default" in node}


def choices(path: str) -> tuple:
    """The values an enum key allows ("merge.mode"); a key that also takes numbers
    (sieve.threshold) gives its named values."""
    parent, key = path.rsplit(".", 1) if "." in path else ("", path)
    node = _resolved((section(parent) if parent else schema())["properties"][key])
    for option in [node] + node.get("oneOf", []) + node.get("anyOf", []):
        if "enum" in option:
            return tuple(option["enum"])
    raise KeyError(f"{path}: not an enum in the schema")


def with_defaults(config: dict, node: dict | None = None) -> dict:
    """`config` with every omitted key that has a schema default filled in, section by
    section. Method definitions are left as written: they override only what they name."""
    node = _resolved(node or schema())
    out = dict(config)
    for key, sub in node.get("properties", {}).items():
        sub = _resolved(sub)
        if key not in out and "default" in sub:
            out[key] = copy.deepcopy(sub["default"])
        elif "properties" in sub and isinstance(out.get(key, {}), dict):
            filled = with_defaults(out.get(key, {}), sub)
            if key in out or filled:
                out[key] = filled
    return out


def checked_config(config: dict, source: str = "config") -> dict:
    """A config validated against the schema, with its defaults filled in: what the
    Snakefile and `load_config` both use, so a config means the same inside and outside
    Snakemake. Errors name the key."""
    import jsonschema

    for (parent, key), now in RENAMED.items():
        if key in (config.get(parent) or {}):
            raise ConfigError(f"{source}: {parent}.{key} is now {now}; rename the key")
    try:
        jsonschema.validate(config, schema())
    except jsonschema.ValidationError as err:
        where = ".".join(str(p) for p in err.absolute_path) or "(top level)"
        raise ConfigError(f"{source}: {where}: {err.message}{_did_you_mean(err)}") from err
    return with_defaults(config)


def _did_you_mean(err) -> str:
    """For a misspelt key (an unexpected property), the known key it is closest to."""
    if err.validator != "additionalProperties" or not isinstance(err.instance, dict):
        return ""
    known = list(err.schema.get("properties", {}))
    return did_you_mean([k for k in err.instance if k not in known], known)


def did_you_mean(unknown, known) -> str:
    """` (did you mean 'x' -> 'y'?)` for each unknown key close to a known one, else ''."""
    import difflib

    guesses = [f"{k!r} -> {close[0]!r}" for k in unknown
               for close in [difflib.get_close_matches(k, list(known), 1, 0.6)] if close]
    return f" (did you mean {', '.join(guesses)}?)" if guesses else ""
