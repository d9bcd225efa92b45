"""Reading an experiment config outside Snakemake (for `asal draw` and `asal show`), with the
same schema and the same derived settings the Snakefile uses."""

from __future__ import annotations

from pathlib import Path

import yaml

from ..store import layout

SCHEMA = Path(__file__).resolve().parents[2] / "schemas" / "config.schema.yaml"


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
    """A validated config from one file, or several merged in order (the project's
    config.yaml, then a benchmark config, as `snakemake --configfile` would)."""
    import jsonschema

    paths = [Path(p) for p in (path if isinstance(path, (list, tuple)) else [path])]
    config: dict = {}
    for p in paths:
        if not p.exists():
            raise FileNotFoundError(f"{p}: config file missing")
        config = merge_configs(config, yaml.safe_load(p.read_text()) or {})
    schema = yaml.safe_load(SCHEMA.read_text())
    try:
        jsonschema.validate(config, schema)
    except jsonschema.ValidationError as err:
        where = ".".join(str(p) for p in err.absolute_path) or "(top level)"
        hint = ""
        if err.validator == "required" and len(paths) == 1:
            hint = (f"; a benchmark config only overrides the defaults: give both, e.g. "
                    f"--config config.yaml {paths[0]}")
        raise ValueError(f"{' + '.join(map(str, paths))}: {where}: {err.message}{hint}") \
            from err
    return config


def dataset_settings(config: dict) -> dict:
    """What stages need to open the dataset; the synthetic one lives under results/.
    `allow_absent_classes` is left out: only oracle_table takes it (as a flag), so setting it
    reruns nothing else."""
    ds = {k: v for k, v in config["dataset"].items()
          if k not in ("synthetic", "allow_absent_classes")}
    if ds["name"] == "synthetic":
        ds["root"] = layout.fill(layout.DATASET_DIR, experiment=config["experiment"])
    elif not ds.get("root"):
        raise ValueError(f"config: dataset.root must be set for dataset {ds['name']!r}")
    ds.setdefault("resize", 1.0)
    ds.setdefault("evaluation_split", "val")
    return ds
