"""Rule synthesize: the default dataset, deterministic synthetic street scenes."""

from __future__ import annotations

from .arguments import json_object, run_stage

HELP = "make the synthetic dataset"


def add_arguments(p) -> None:
    p.add_argument("--spec", type=json_object, default={},
                   help="JSON of dataset.synthetic (n_pool, n_val, height, width); omitted "
                        "keys take their defaults")
    p.add_argument("--out", required=True, help="dataset folder")
    p.add_argument("--seed", type=int, default=0)


def main(args) -> None:
    run_stage(synthesize, args)


def synthesize(*, out: str, seed: int = 0, spec: dict | None = None) -> None:
    from ..data import synthetic
    from ..experiment.settings import defaults

    known = defaults("dataset.synthetic")
    unknown = set(spec or {}) - set(known)
    if unknown:
        raise ValueError(f"dataset.synthetic: unknown keys {sorted(unknown)}; known: "
                         f"{sorted(known)}")
    spec = {**known, **(spec or {})}
    synthetic.generate(out, spec["n_pool"], spec["n_val"], spec["height"], spec["width"], seed)
