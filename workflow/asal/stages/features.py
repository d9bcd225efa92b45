"""Rule features (and gather_features for its shards): a frozen ImageNet encoder run once over every image of the dataset, so
that training, predict, sieve and evaluate of every round run only a light head (the CPU
regime, `train.model: feature_head`)."""

from __future__ import annotations

import logging

import numpy as np

from ..data.datasets import dataset_from
from ..experiment.seeds_and_shards import shard_range
from ..progress import Progress
from ..store.artifacts import provenance
from ..store.feature_file import FEATURE_DTYPE, features_writer
from .arguments import add_dataset, add_device, add_shard, run_stage

log = logging.getLogger(__name__)

HELP = "a frozen ImageNet encoder's features of every image, once"


def add_arguments(p) -> None:
    add_dataset(p)
    p.add_argument("--encoder", required=True, help="efficientnet_lite0, 1 or 2")
    p.add_argument("--out", required=True)
    add_shard(p, "images")
    add_device(p)


def main(args) -> dict:
    return run_stage(compute_features, args)


def feature_images(ds) -> list[str]:
    """Every image a round can look at: the pool, then the evaluation split's other images."""
    seen = set(ds.pool)
    return list(ds.pool) + [n for n in ds.evaluation if n not in seen]


def compute_features(*, dataset: dict, encoder: str, out: str, shard: int = 0,
                     shards: int = 1, device: str = "auto", threads: int = 0,
                     batch_size: int = 16) -> dict:
    import torch

    from ..learning.encoders import TAP_NAMES, EfficientNetLite, lite_input
    from ..learning.inference import torch_setup

    dev = torch_setup(threads, device)
    ds = dataset_from(dataset)
    n_shards = shards
    names = feature_images(ds)
    lo, hi = shard_range(len(names), shard, n_shards)
    mine = names[lo:hi]
    ds.check_files(mine)
    net = EfficientNetLite(encoder)
    net.load_imagenet()
    net.to(dev).eval()
    first = ds.read_image(names[0])
    shape = first.shape[:2]
    with torch.no_grad():
        probe = net.tap_features(lite_input(torch.zeros((1, 3) + shape)).to(dev))
    shapes = {k: tuple(v.shape[1:]) for k, v in probe.items()}
    attrs = provenance("features", {"encoder": encoder}, encoder=encoder,
                       taps=list(TAP_NAMES), image_shape=list(shape),
                       dataset=ds.identity(), weights=_weights_version(encoder),
                       shard=shard, n_shards=n_shards)
    progress = Progress(f"features ({encoder})", len(mine))
    with features_writer(out, attrs, mine, shapes) as rows:
        for start in range(0, len(mine), batch_size):
            chunk = mine[start:start + batch_size]
            images = [ds.read_image(n) for n in chunk]
            bad = [n for n, im in zip(chunk, images) if im.shape[:2] != shape]
            if bad:
                raise ValueError(
                    f"image {bad[0]} is {images[chunk.index(bad[0])].shape[1::-1]} (WxH) but "
                    f"{names[0]} is {shape[::-1]}: cached features need images of one size; "
                    "resize the dataset, or train a network over pixels (train.model other "
                    "than feature_head, with train.crop)")
            x = torch.from_numpy(np.stack(images)).permute(0, 3, 1, 2)
            with torch.no_grad():
                taps = net.tap_features(lite_input(x).to(dev))
            for k, v in taps.items():
                rows.put(k, start, v.cpu().numpy().astype(FEATURE_DTYPE))
            progress(start + len(chunk))
    log.info("features: %d images through %s, taps %s", len(mine), encoder,
             ", ".join(f"{k} {v}" for k, v in shapes.items()))
    return attrs


def _weights_version(encoder: str) -> str:
    from importlib.metadata import PackageNotFoundError, version

    from ..learning.encoders import LITE_WEIGHTS_PACKAGES

    package = LITE_WEIGHTS_PACKAGES[encoder]
    try:
        return f"{package} {version(package)}"
    except PackageNotFoundError:
        return package
