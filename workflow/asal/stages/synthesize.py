"""Rule synthesize: the default dataset, deterministic synthetic street scenes."""

from __future__ import annotations

from .arguments import add_spec

HELP = "make the synthetic dataset"
DEFAULTS = {"n_pool": 24, "n_val": 8, "height": 96, "width": 128}


def add_arguments(p) -> None:
    add_spec(p)
    p.add_argument("--out", required=True, help="dataset folder")
    p.add_argument("--seed", type=int, default=0)


def main(args) -> None:
    synthesize(args.out, args.seed, **args.spec)


def synthesize(out: str, seed: int = 0, **spec) -> None:
    from ..data import synthetic

    spec = {**DEFAULTS, **spec}
    synthetic.generate(out, spec["n_pool"], spec["n_val"], spec["height"], spec["width"], seed)
