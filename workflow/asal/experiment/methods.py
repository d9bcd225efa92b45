"""Methods are named bundles of stage switches; a benchmark is a list of method names.

A method overrides the experiment-wide `merge`, `acquire` and `sieve` settings. Training,
superpixels and the budget stay experiment-wide, so every method of a trial can share the
warm-up round and the curves start from the same point.
"""

from __future__ import annotations

import copy

from ..store.layout import ALGORITHM_KINDS, FULL, SUPERPIXEL_KINDS, WARMUP
from .extensions import check_config as check_extensions
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
    # Beyond the paper (docs: beyond). +V: eq. 7 discounted by the model's predicted chance
    # that a region is void, whose click would teach nothing. +M: the oracle names every class
    # covering at least answer.min_share of a merged region, a click per class (MulActSeg).
    "SP+V": {"merge": NO_MERGE, "sieve": NO_SIEVE, "acquire": {"function": "void_aware"}},
    "AMSP+S+V": {"acquire": {"function": "void_aware"}},
    "AMSP+S+M": {"answer": {"type": "multiclass"}},
    "AMSP+S+MV": {"answer": {"type": "multiclass"}, "acquire": {"function": "void_aware"}},
}

STAGE_SECTIONS = ("merge", "acquire", "sieve", "answer")
METHOD_KEYS = set(STAGE_SECTIONS) | {"merge_until_round", "base", "superpixels",
                                     "superpixel_size"}
# A method run at another base superpixel size than the experiment's is named
# <method>@<size>px, and so are its superpixels (seeds@16px); `sweep.superpixel_size` makes
# one such method per listed method and size.
SIZE_MARK = "@"


def sized_name(method: str, size: int) -> str:
    """The name of `method` run on base superpixels of `size` px (the sweep's methods)."""
    return f"{method}{SIZE_MARK}{int(size)}px"


def sweep_sizes(config: dict) -> list[int]:
    """The base superpixel sizes of `sweep.superpixel_size` (empty without a sweep)."""
    return [int(s) for s in ((config.get("sweep") or {}).get("superpixel_size") or [])]


def sweep_definitions(config: dict) -> dict[str, dict]:
    """One method per listed method and swept size other than the experiment's own
    (superpixels.size, where the method keeps its plain name and so its results are shared
    with experiments that do not sweep): {base: method, superpixel_size: size}."""
    own = int(config["superpixels"]["size"])
    return {sized_name(m, size): {"base": m, "superpixel_size": size}
            for m in config["methods"] if m != FULL for size in sweep_sizes(config)
            if size != own}


def all_methods(config: dict) -> dict[str, dict]:
    """Built-in methods plus the config's `method_definitions` (which may extend a `base`)
    and the methods of a superpixel-size sweep."""
    methods = copy.deepcopy(BUILTIN_METHODS)
    definitions = {**(config.get("method_definitions") or {})}
    for name, definition in sweep_definitions(config).items():
        definitions.setdefault(name, definition)
    for name, definition in definitions.items():
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


def method_names(config: dict) -> list[str]:
    """The methods an experiment runs: the config's list, or with `sweep.superpixel_size`
    each listed method at every swept size (Full, which has no superpixels, once)."""
    names = list(config["methods"])
    if not sweep_sizes(config):
        return names
    own = int(config["superpixels"]["size"])
    swept = [m if size == own else sized_name(m, size)
             for m in names if m != FULL for size in sweep_sizes(config)]
    return swept + ([FULL] if FULL in names else [])


def check_methods(config: dict) -> list[str]:
    """The experiment's method names (method_names), checked; `Full` (the fully supervised
    ceiling: every pool pixel labelled, the experiment's training recipe, once per trial) may
    be among them."""
    known = all_methods(config)
    names = list(config["methods"])
    sizes = sweep_sizes(config)
    if len(set(sizes)) != len(sizes):
        raise ConfigError(f"sweep.superpixel_size: a size is listed twice ({sizes})")
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
    listed = {m: known[m] for m in names if m != FULL}
    check_extensions(config, listed)  # a missing module or function stops the plan
    for name in listed:
        function = stage_settings(config, name, "acquire")["function"]
        if function == "void_aware" and config["train"]["model"] != "feature_head":
            raise ConfigError(f"methods: {name} uses acquire.function void_aware, which reads "
                              "the model's void output: only train.model feature_head has one")
    return method_names(config)


def superpixel_size(config: dict, method: str) -> int:
    """The target base superpixel size (px) a method works on: its own `superpixel_size`,
    else the experiment's `superpixels.size`."""
    if method.startswith(WARMUP):
        return split_kind(superpixel_kind(config, method), config)[1]
    size = all_methods(config)[method].get("superpixel_size")
    return int(config["superpixels"]["size"] if size is None else size)


def split_kind(kind: str, config: dict) -> tuple[str, int]:
    """(algorithm, target size) of a superpixel kind such as seeds, slic@64px or oracle."""
    algorithm, mark, size = kind.partition(SIZE_MARK)
    if not mark:
        return algorithm, int(config["superpixels"]["size"])
    if not (size.endswith("px") and size[:-2].isdigit()):
        raise ConfigError(f"superpixels {kind!r}: a sized kind reads <algorithm>@<size>px")
    return algorithm, int(size[:-2])


def superpixel_kind(config: dict, method: str) -> str:
    """Which base superpixels a method (or a warm-up pseudo-method) works on: its own
    `superpixels` key, else the experiment's `superpixels.algorithm` (default seeds), marked
    with its size when that is not the experiment's (seeds@16px). Methods of one kind share
    the superpixels, the oracle table and the warm-up."""
    if method.startswith(WARMUP):
        return method[len(WARMUP) + 1:] or "seeds"
    definition = all_methods(config)[method]
    kind = definition.get("superpixels", config["superpixels"]["algorithm"])
    if kind not in SUPERPIXEL_KINDS:
        raise ConfigError(f"method {method}: superpixels {kind!r}, use one of "
                          f"{SUPERPIXEL_KINDS}")
    size = definition.get("superpixel_size")
    if kind in ALGORITHM_KINDS and size is not None and \
            int(size) != int(config["superpixels"]["size"]):
        return f"{kind}{SIZE_MARK}{int(size)}px"
    return kind


def superpixel_settings(config: dict, kind: str) -> dict:
    """The `superpixels` settings that make base superpixels of `kind` (seeds or slic,
    optionally sized: seeds@16px): the experiment's, with `algorithm` (and `size`) set by the
    kind and the other algorithm's keys left out, so that changing them reruns nothing."""
    algorithm, size = split_kind(kind, config)
    if algorithm not in ALGORITHM_KINDS:
        raise ConfigError(f"superpixels: {kind!r} is not made by an algorithm; use one of "
                          f"{ALGORITHM_KINDS}")
    settings = dict(config["superpixels"], algorithm=algorithm, size=size)
    settings.pop("sweep", None)
    unused = SLIC_ONLY if algorithm == "seeds" else SEEDS_ONLY
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
    if stage == "answer" and settings.get("type") == "dominant":
        return {"type": "dominant"}  # the paper's oracle: the other answer settings cannot matter
    return dict([OFF[stage]]) if is_off(stage, settings) else settings


def train_settings(config: dict) -> dict:
    """The `train` settings that can change a model, and so the train rule's params:
    `threads` is how the job runs (the rule's threads), and the encoder matters only to the
    feature head."""
    settings = {k: v for k, v in config["train"].items() if k != "threads"}
    if settings["model"] != "feature_head":
        settings.pop("encoder", None)
    return settings


def method_info(config: dict, methods: list[str]) -> dict[str, dict]:
    """What the report needs to know of each method: the listed method it was made from by a
    size sweep (else itself), its base superpixel size and kind, the label of its row and the
    paper's number for it (report.labels, report.paper; a sweep method takes its base's)."""
    report = config.get("report") or {}
    labels, paper = report.get("labels") or {}, report.get("paper") or {}
    swept = sweep_definitions(config)
    out = {}
    for m in methods:
        base = swept[m]["base"] if m in swept else m
        out[m] = {"base": base, "size": superpixel_size(config, m),
                  "kind": superpixel_kind(config, m),
                  "label": labels.get(m, f"{labels.get(base, base)} {SIZE_MARK}"
                                         f"{superpixel_size(config, m)}px"
                                      if sweep_sizes(config) else m),
                  "paper": paper.get(m)}
    return out
