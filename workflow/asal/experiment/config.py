"""Reading an experiment config outside Snakemake (for the `--config` modes of `asal draw`,
`asal annotate` and `asal check-dataset`), with the same checks and defaults the Snakefile
uses (asal.experiment.settings)."""

from __future__ import annotations

from pathlib import Path

import yaml

from ..store import layout
from .settings import ConfigError, checked_config


def merge_configs(base: dict, override: dict) -> dict:
    """`override` over `base`, nested mappings key by key: what Snakemake does with a
    --configfile given over the Snakefile's config.yaml."""
    out = dict(base)
    for key, value in override.items():
        if isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = merge_configs(out[key], value)
        else:
            out[key] = value
    return out


def load_config(path: str | Path | list) -> dict:
    """A validated config with its defaults filled in, from one file or several merged in
    order (the project's config.yaml, then a benchmark config, as `snakemake --configfile`
    would)."""
    paths = [Path(p) for p in (path if isinstance(path, (list, tuple)) else [path])]
    config: dict = {}
    for p in paths:
        if not p.exists():
            raise FileNotFoundError(f"{p}: config file missing")
        config = merge_configs(config, yaml.safe_load(p.read_text()) or {})
    try:
        return checked_config(config, " + ".join(map(str, paths)))
    except ConfigError as err:
        if "is a required property" in str(err) and len(paths) == 1:
            raise ConfigError(f"{err}; a benchmark config only overrides the defaults: give "
                              f"both, e.g. --config config.yaml {paths[0]}") from err
        raise


def dataset_settings(config: dict) -> dict:
    """What stages need to open the dataset (--dataset); the synthetic one lives under
    results/. `allow_absent_classes` is left out: only oracle_table takes it (as a flag), so
    setting it reruns nothing else."""
    ds = {k: v for k, v in config["dataset"].items()
          if k not in ("synthetic", "allow_absent_classes")}
    if ds["name"] == "synthetic":
        ds["root"] = layout.fill(layout.DATASET_DIR, experiment=config["experiment"])
    elif not ds.get("root"):
        raise ConfigError(f"config: dataset.root must be set for dataset {ds['name']!r}")
    if ds.get("size") is None:  # unset: not a setting of any job (so adding the key reran none)
        ds.pop("size", None)
    return ds


def one_size_reason(train: dict) -> str | None:
    """What needs every image read at one size, if anything: a feature head (its encoder's
    features are cached as one array) or a network trained on whole images (train.crop 0)."""
    if train["model"] == "feature_head":
        return "train.model feature_head (its encoder's features are cached at one size)"
    if not train.get("crop"):
        return f"train.model {train['model']} trained on whole images (train.crop: 0)"
    return None
