"""Reading an experiment config outside Snakemake (for `asal draw` and `asal show`), with the
same schema and the same derived settings the Snakefile uses."""

from __future__ import annotations

from pathlib import Path

import yaml

from . import layout

SCHEMA = Path(__file__).resolve().parents[1] / "schemas" / "config.schema.yaml"


def load_config(path: str | Path) -> dict:
    import jsonschema

    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(f"{path}: config file missing")
    config = yaml.safe_load(path.read_text())
    schema = yaml.safe_load(SCHEMA.read_text())
    try:
        jsonschema.validate(config, schema)
    except jsonschema.ValidationError as err:
        where = ".".join(str(p) for p in err.absolute_path) or "(top level)"
        raise ValueError(f"{path}: {where}: {err.message}") from err
    return config


def dataset_settings(config: dict) -> dict:
    """What stages need to open the dataset; the synthetic one lives under results/."""
    ds = {k: v for k, v in config["dataset"].items() if k != "synthetic"}
    if ds["name"] == "synthetic":
        ds["root"] = layout.fill(layout.DATASET_DIR, experiment=config["experiment"])
    elif not ds.get("root"):
        raise ValueError(f"config: dataset.root must be set for dataset {ds['name']!r}")
    ds.setdefault("resize", 1.0)
    ds.setdefault("evaluation_split", "val")
    return ds
