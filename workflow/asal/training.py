"""Training theta_t (eq. 10) and running it: cross-entropy on labelled pixels only."""

from __future__ import annotations

import logging
import math
import random
from dataclasses import asdict, dataclass
from typing import Iterator

import numpy as np
import torch
from torch import nn

from .datasets import VOID
from .models import MEAN, STD

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class TrainSpec:
    model: str = "small_unet"
    pretrained: bool = False
    iterations: int = 300
    batch_size: int = 8
    lr: float = 3e-3
    weight_decay: float = 1e-4
    optimizer: str = "adamw"  # adamw | sgd (the authors': momentum 0.9, poly decay)
    crop: int = 0  # square random crop side; 0 trains on whole images
    init: str = "scratch"  # scratch: from the initial weights every round (the authors'); previous
    device: str = "auto"
    amp: bool = True  # mixed precision on CUDA
    threads: int = 0  # torch CPU threads; 0 leaves torch's default

    def __post_init__(self):
        if self.init not in ("scratch", "previous"):
            raise ValueError(f"train.init {self.init!r}: use scratch or previous")
        if self.optimizer not in ("adamw", "sgd"):
            raise ValueError(f"train.optimizer {self.optimizer!r}: use adamw or sgd")
        if self.batch_size < 2:
            raise ValueError("train.batch_size must be at least 2 (batch norm needs it)")

    def as_dict(self) -> dict:
        return asdict(self)


def seed_everything(seed: int) -> None:
    random.seed(seed)
    np.random.seed(seed % 2**32)
    torch.manual_seed(seed)


def to_tensor(images: np.ndarray) -> torch.Tensor:
    """(B, H, W, 3) uint8 RGB -> normalised (B, 3, H, W) float."""
    x = torch.from_numpy(np.ascontiguousarray(images)).permute(0, 3, 1, 2).float() / 255.0
    mean = torch.tensor(MEAN).view(1, 3, 1, 1)
    std = torch.tensor(STD).view(1, 3, 1, 1)
    return (x - mean) / std


def _batches(images: list[np.ndarray], targets: list[np.ndarray], batch_size: int, crop: int,
             rng: np.random.Generator) -> Iterator[tuple[np.ndarray, np.ndarray]]:
    """Endless batches drawn with replacement (a sparse label set may have few images),
    randomly flipped and cropped."""
    while True:
        pick = rng.integers(0, len(images), size=batch_size)
        xs, ys = [], []
        for k in pick:
            x, y = images[k], targets[k]
            if crop:
                h, w = y.shape
                ch, cw = min(crop, h), min(crop, w)
                top, left = rng.integers(0, h - ch + 1), rng.integers(0, w - cw + 1)
                x, y = x[top:top + ch, left:left + cw], y[top:top + ch, left:left + cw]
            if rng.random() < 0.5:
                x, y = x[:, ::-1], y[:, ::-1]
            xs.append(x)
            ys.append(y)
        yield np.stack(xs), np.stack(ys)


def train(model: nn.Module, images: list[np.ndarray], targets: list[np.ndarray],
          spec: TrainSpec, seed: int, device: torch.device, progress=None) -> list[dict]:
    """Fit `model` in place on (image, sparse target) pairs; VOID pixels carry no loss."""
    if not images:
        raise ValueError("no labelled pixel to train on: every query so far was void or "
                         "sieved away; raise the budget")
    if len({t.shape for t in targets}) > 1 and not spec.crop:
        raise ValueError("pool images differ in size; set train.crop to a side length")
    rng = np.random.default_rng(seed)
    model.to(device).train()
    if spec.optimizer == "adamw":
        opt = torch.optim.AdamW(model.parameters(), lr=spec.lr, weight_decay=spec.weight_decay)
    else:
        opt = torch.optim.SGD(model.parameters(), lr=spec.lr, momentum=0.9,
                              weight_decay=spec.weight_decay)
    sched = torch.optim.lr_scheduler.LambdaLR(
        opt, lambda it: (1 - it / spec.iterations) ** 0.9)  # poly, as DeepLab
    use_amp = spec.amp and device.type == "cuda"
    scaler = torch.amp.GradScaler("cuda", enabled=use_amp)
    loss_fn = nn.CrossEntropyLoss(ignore_index=VOID)
    history = []
    batches = _batches(images, targets, spec.batch_size, spec.crop, rng)
    for it in range(spec.iterations):
        x, y = next(batches)
        xt = to_tensor(x).to(device)
        yt = torch.from_numpy(np.ascontiguousarray(y)).long().to(device)
        with torch.autocast(device.type, enabled=use_amp):
            loss = loss_fn(model(xt), yt)
        opt.zero_grad(set_to_none=True)
        if math.isnan(loss.item()):  # a batch with no labelled pixel
            continue
        scaler.scale(loss).backward()
        scaler.step(opt)
        scaler.update()
        sched.step()
        history.append({"iteration": it + 1, "loss": float(loss.item()),
                        "lr": float(sched.get_last_lr()[0])})
        if progress is not None:
            progress(it + 1, spec.iterations, float(loss.item()))
    model.eval()
    return history


@torch.no_grad()
def predict_probabilities(model: nn.Module, images: list[np.ndarray], device: torch.device,
                          batch_size: int = 8) -> Iterator[np.ndarray]:
    """Softmax probabilities (C, H, W) of each image, in order, batched by equal size."""
    model.eval()
    for start in range(0, len(images), batch_size):
        chunk = images[start:start + batch_size]
        if len({im.shape for im in chunk}) > 1:
            groups = [[im] for im in chunk]
        else:
            groups = [chunk]
        for group in groups:
            logits = model(to_tensor(np.stack(group)).to(device))
            probs = torch.softmax(logits.float(), dim=1).cpu().numpy()
            yield from probs
