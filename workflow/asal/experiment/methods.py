"""Methods are named bundles of stage switches; a benchmark is a list of method names.

A method overrides the experiment-wide `merge`, `acquire` and `sieve` settings. Training,
superpixels and the budget stay experiment-wide, so every method of a trial can share the
warm-up round and the curves start from the same point.
"""

from __future__ import annotations

import copy

from ..store.layout import ALGORITHM_KINDS, FULL, SUPERPIXEL_KINDS, WARMUP
from .settings import ConfigError

# Settings of one superpixel algorithm only (asal.method.superpixels.SeedsSpec); kept here so that
# methods, imported by the Snakefile, does not import OpenCV.
SEEDS_ONLY = ("levels", "prior", "histogram_bins", "double_step")
SLIC_ONLY = ("slic_variant", "ruler")

# The setting that switches a stage off; the stage's other settings then cannot matter.
OFF = {"merge": ("mode", "none"), "sieve": ("threshold", "none")}
NO_MERGE = dict([OFF["merge"]])
NO_SIEVE = dict([OFF["sieve"]])

BUILTIN_METHODS: dict[str, dict] = {
    # The paper's ablation ladder (Table 2 / Figure 3).
    "SP": {"merge": NO_MERGE, "sieve": NO_SIEVE},
    "SP+S": {"merge": NO_MERGE},
    "MSP+S": {"merge_until_round": 2},
    "AMSP+S": {},
    "AMSP": {"sieve": NO_SIEVE},
    # Upper bound: the ground truth's connected components as superpixels (queries are pure).
    "OracleSP": {"superpixels": "oracle", "merge": NO_MERGE, "sieve": NO_SIEVE},
    # Acquisition baselines on base superpixels, no sieving.
    "Random": {"merge": NO_MERGE, "sieve": NO_SIEVE, "acquire": {"function": "random"}},
    "BvSB": {"merge": NO_MERGE, "sieve": NO_SIEVE, "acquire": {"function": "bvsb"}},
    "Entropy": {"merge": NO_MERGE, "sieve": NO_SIEVE, "acquire": {"function": "entropy"}},
    "ClassBal": {"merge": NO_MERGE, "sieve": NO_SIEVE,
                 "acquire": {"function": "classbal_superpixel"}},
}

STAGE_SECTIONS = ("merge", "acquire", "sieve")
METHOD_KEYS = set(STAGE_SECTIONS) | {"merge_until_round", "base", "superpixels"}


def all_methods(config: dict) -> dict[str, dict]:
    """Built-in methods plus the config's `method_definitions` (which may extend a `base`)."""
    methods = copy.deepcopy(BUILTIN_METHODS)
    for name, definition in (config.get("method_definitions") or {}).items():
        unknown = set(definition) - METHOD_KEYS
        if unknown:
            raise ConfigError(f"method_definitions.{name}: unknown keys {sorted(unknown)}; "
                              f"a method may set {sorted(METHOD_KEYS)}")
        base = definition.get("base")
        if base is not None and base not in methods:
            raise ConfigError(f"method_definitions.{name}.base: unknown method {base!r}")
        merged = copy.deepcopy(methods.get(base, {}))
        for key, value in definition.items():
            if key == "base":
                continue
            if isinstance(value, dict):
                merged[key] = {**merged.get(key, {}), **value}
            else:
                merged[key] = value
        methods[name] = merged
    return methods


def check_methods(config: dict) -> list[str]:
    """The config's method names, checked; `Full` (the fully supervised ceiling: every pool
    pixel labelled, the experiment's training recipe, once per trial) may be among them."""
    known = all_methods(config)
    names = list(config["methods"])
    for name in names:
        if name.startswith(WARMUP):
            raise ConfigError(f"methods: names starting with {WARMUP!r} are reserved for the "
                              "shared round 0")
        if name not in known and name != FULL:
            raise ConfigError(f"methods: unknown method {name!r}; known: "
                              f"{sorted(known) + [FULL]} (or define it under "
                              "method_definitions)")
    if FULL in (config.get("method_definitions") or {}):
        raise ConfigError(f"method_definitions: {FULL!r} is the fully supervised ceiling "
                          "(every pool pixel labelled); give your method another name")
    if len(set(names)) != len(names):
        raise ConfigError("methods: a method is listed twice")
    return names


def superpixel_kind(config: dict, method: str) -> str:
    """Which base superpixels a method (or a warm-up pseudo-method) works on: its own
    `superpixels` key, else the experiment's `superpixels.algorithm` (default seeds)."""
    if method.startswith(WARMUP):
        return method[len(WARMUP) + 1:] or "seeds"
    kind = all_methods(config)[method].get("superpixels", config["superpixels"]["algorithm"])
    if kind not in SUPERPIXEL_KINDS:
        raise ConfigError(f"method {method}: superpixels {kind!r}, use one of "
                          f"{SUPERPIXEL_KINDS}")
    return kind


def superpixel_settings(config: dict, kind: str) -> dict:
    """The `superpixels` settings that make base superpixels of `kind` (seeds or slic):
    the experiment's, with `algorithm` set to the kind and the other algorithm's keys left
    out, so that changing them reruns nothing."""
    if kind not in ALGORITHM_KINDS:
        raise ConfigError(f"superpixels: {kind!r} is not made by an algorithm; use one of "
                          f"{ALGORITHM_KINDS}")
    settings = dict(config["superpixels"], algorithm=kind)
    unused = SLIC_ONLY if kind == "seeds" else SEEDS_ONLY
    return {k: v for k, v in settings.items() if k not in unused}


def is_off(stage: str, settings: dict) -> bool:
    """Whether these settings switch the stage off (merge mode none, sieve threshold none)."""
    key, off = OFF.get(stage, (None, None))
    return key is not None and settings.get(key) == off


def stage_settings(config: dict, method: str, stage: str, round: int | None = None) -> dict:
    """The effective settings of `stage` for `method` (in round `round` for merging); a
    stage switched off keeps only the switch, so changing its other settings reruns
    nothing."""
    settings = dict(config[stage])
    if not method.startswith(WARMUP):
        definition = all_methods(config)[method]
        settings.update(definition.get(stage, {}))
        until = definition.get("merge_until_round")
        if stage == "merge" and until is not None and round is not None and round > until:
            settings["mode"] = "none"
    return dict([OFF[stage]]) if is_off(stage, settings) else settings


def train_settings(config: dict) -> dict:
    """The `train` settings that can change a model, and so the train rule's params:
    `threads` is how the job runs (the rule's threads), and the encoder matters only to the
    feature head."""
    settings = {k: v for k, v in config["train"].items() if k != "threads"}
    if settings["model"] != "feature_head":
        settings.pop("encoder", None)
    return settings
