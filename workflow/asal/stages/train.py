"""Rules train and train_full: theta_t trained on the sieved labels (eq. 10), or on every pool
pixel's ground truth for the fully supervised ceiling (method Full), by the same recipe."""

from __future__ import annotations

import logging

import numpy as np
import pandas as pd

from .. import __version__
from ..data.datasets import dataset_from
from ..experiment.seeds_and_shards import derive_seed
from ..learning.train_spec import TrainSpec
from ..progress import Progress
from ..store import artifacts
from .arguments import add_dataset, add_device, add_features, add_spec, run_stage

log = logging.getLogger(__name__)

HELP = "train theta_t on the sieved labels"


def add_arguments(p) -> None:
    add_dataset(p)
    add_spec(p, TrainSpec)
    add_device(p)
    for a in ("--out", "--log-out"):
        p.add_argument(a, required=True)
    p.add_argument("--superpixels", default=None)
    p.add_argument("--sieved", default=None)
    p.add_argument("--labelled", default=None,
                   help="the round's labelled set: its void answers train the void output")
    p.add_argument("--full", action="store_true",
                   help="every pool pixel's ground truth instead of --sieved (method Full)")
    add_features(p)
    p.add_argument("--init", default=None, help="checkpoint to continue from (init: previous)")
    for a in ("--seed", "--trial", "--round"):
        p.add_argument(a, type=int, required=True)


def main(args) -> None:
    if not args.full and (args.sieved is None or args.superpixels is None):
        raise SystemExit("asal train: error: give --sieved and --superpixels, or --full")
    run_stage(train, args)


def train(*, dataset: dict, superpixels: str | None = None, sieved: str | None = None,
          spec: TrainSpec, seed: int, trial: int, round: int, init: str | None = None,
          out: str, log_out: str, features: str | None = None, full: bool = False,
          device: str = "auto", threads: int = 0, labelled: str | None = None) -> None:
    """Train theta_t on the sieved labels (eq. 10); with `full`, on every pool pixel's ground
    truth instead (the fully supervised ceiling, method Full), by the same recipe. `init`:
    theta_{t-1}, to continue from with train.init previous. `labelled`: the round's labelled
    set, whose void answers train the feature head's void output (void-aware acquisition);
    multi-class answers come with the sieved labels and train by the partial-label loss."""
    import torch

    from ..learning.inference import check_encoder, torch_setup
    from ..learning.models import build_model, load_checkpoint, save_checkpoint
    from ..learning.targets import coded_targets
    from ..learning.training import seed_everything, train_on_features
    from ..learning.training import train as train_network
    from ..store.feature_file import open_features

    dataset_cfg, sp_path, sieved_path, init_path = dataset, superpixels, sieved, init
    out_model, out_log, features_path = out, log_out, features
    ds = dataset_from(dataset_cfg)
    codes = None
    if full:
        ds.check_files(ds.pool, labels=True)
        names = list(ds.pool)
        targets = [ds.read_label(n) for n in names]
        what = "every pool pixel's ground truth (Full)"
    else:
        keys = ("pixel", "label", "kept") + (
            ("label_set",) if artifacts.has_datasets(sieved_path, ("label_set",)) else ())
        sieved, _ = artifacts.read_table(sieved_path, "sieve", keys)
        void_superpixel = None
        if labelled is not None:
            state, lattrs = artifacts.read_table(labelled, "query", ("label",))
            void_superpixel = state["label"] == int(lattrs["void_label"])
        with artifacts.open_superpixels(sp_path) as sp:
            codes = coded_targets(sp, sieved, ds.n_classes, void_superpixel)
            names = [sp.names[i] for i in codes.maps]
        targets = list(codes.maps.values())
        what = (f"{int(sieved['kept'].sum())} labelled pixels"
                + (f" ({len(codes.sets)} multi-class answer sets)" if codes.sets is not None
                   else ""))
    log.info("train: round %d, %s over %d images, %s for %d iterations", round, what,
             len(names), spec.model, spec.iterations)
    device = torch_setup(threads, device)
    seed_everything(derive_seed(seed, trial))  # same initial weights every round of a trial
    model = build_model(spec.model, ds.n_classes, spec.pretrained, encoder=spec.encoder)
    if spec.init == "previous" and init_path is not None:
        model, _ = load_checkpoint(init_path, ds.n_classes)
        model.train()
        spec = spec.for_round(continued=True)
        log.info("train: continuing from %s for %d iterations", init_path, spec.iterations)
    log.info("train: on %s%s, mixed precision %s", device,
             f" ({torch.cuda.get_device_name(device)})" if device.type == "cuda" else "",
             "on" if spec.amp and device.type == "cuda" and not spec.uses_features else "off")
    progress = Progress("train", spec.iterations)
    report = lambda it, n, loss: progress(it, f", loss {loss:.4f}")  # noqa: E731
    order_seed = derive_seed(seed, trial, round, 3)
    if spec.uses_features:
        if features_path is None:
            raise ValueError("train.model feature_head trains on cached features: give "
                             "--features (the features stage's file)")
        with open_features(features_path) as feats:
            check_encoder(features_path, feats.encoder, spec.encoder)
            taps = feats.rows(names, model.TAPS)
        stacked = np.stack(targets) if targets else np.zeros((0, 1, 1), np.uint8)
        history = train_on_features(model, taps, stacked, spec, order_seed, device, report,
                                    codes=codes)
    else:
        images = [ds.read_image(n) for n in names]
        history = train_network(model, images, targets, spec, order_seed, device,
                                progress=report, codes=codes)
    shapes = {tuple(t.shape) for t in targets}
    # What `asal segment` and `asal export-model` need to use the model on new images: the
    # size it works at, and the classes' colours.
    meta = {"model": spec.model, "n_classes": ds.n_classes, "classes": list(ds.classes),
            "palette": np.asarray(ds.palette).tolist(),
            "image_size": list(next(iter(shapes))) if len(shapes) == 1 else None,
            "round": round, "trial": trial, "seed": seed, "spec": spec.as_dict(),
            "full": full, "asal_version": __version__}
    if spec.uses_features:
        meta["encoder"] = spec.encoder
    artifacts.write_csv(out_log, pd.DataFrame(history))
    save_checkpoint(out_model, model.cpu(), meta)
