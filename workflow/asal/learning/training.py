"""Training theta_t (eq. 10) and running it: cross-entropy on labelled pixels only."""

from __future__ import annotations

import logging
import math
import random
from typing import Iterator

import numpy as np
import torch
from torch import nn

from ..data.datasets import VOID
from .models import MEAN, STD
from .train_spec import TrainSpec

__all__ = ["TrainSpec"]  # defined without torch, for the command line

log = logging.getLogger(__name__)


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


def _optimiser(model: nn.Module, spec: TrainSpec):
    if spec.optimizer == "adamw":
        opt = torch.optim.AdamW(model.parameters(), lr=spec.lr, weight_decay=spec.weight_decay)
    else:
        opt = torch.optim.SGD(model.parameters(), lr=spec.lr, momentum=0.9,
                              weight_decay=spec.weight_decay)
    sched = torch.optim.lr_scheduler.LambdaLR(
        opt, lambda it: (1 - it / spec.iterations) ** 0.9)  # poly, as DeepLab
    return opt, sched


def train(model: nn.Module, images: list[np.ndarray], targets: list[np.ndarray],
          spec: TrainSpec, seed: int, device: torch.device, progress=None,
          codes=None) -> list[dict]:
    """Fit `model` in place on (image, sparse target) pairs; VOID pixels carry no loss.
    `codes` reads the targets as code maps (asal.learning.targets): multi-class answers
    train by the partial-label loss; void answers carry no class (a network over pixels has
    no void output)."""
    if not images:
        raise ValueError("no labelled pixel to train on: every query so far was void or "
                         "sieved away; raise the budget")
    if len({t.shape for t in targets}) > 1 and not spec.crop:
        raise ValueError("pool images differ in size; set train.crop to a side length")
    rng = np.random.default_rng(seed)
    model.to(device).train()
    opt, sched = _optimiser(model, spec)
    use_amp = spec.amp and device.type == "cuda"
    scaler = torch.amp.GradScaler("cuda", enabled=use_amp)
    loss_fn = nn.CrossEntropyLoss(ignore_index=VOID)
    batches = _batches(images, targets, spec.batch_size, spec.crop, rng)

    sets = None if codes is None or codes.sets is None else torch.from_numpy(codes.sets).to(device)

    def loss_of_next_batch():
        x, y = next(batches)
        xt = to_tensor(x).to(device)
        if codes is not None and sets is None:  # void answers carry no class: unlabelled
            y = np.where(y == codes.void_code, VOID, y)
        yt = torch.from_numpy(np.ascontiguousarray(y).astype(np.int64)).to(device)
        if sets is None:  # single labels: the cross-entropy as asal always computed it
            with torch.autocast(device.type, enabled=use_amp):
                return loss_fn(model(xt), yt)
        from .losses import coded_class_loss

        with torch.autocast(device.type, enabled=use_amp):
            logits = model(xt)
        return coded_class_loss(logits.float(), yt, codes.ignore, codes.void_code, sets)

    return _fit(model, opt, sched, scaler, spec, loss_of_next_batch, progress)


def _fit(model: nn.Module, opt, sched, scaler, spec: TrainSpec, loss_of_next_batch,
         progress=None) -> list[dict]:
    """The optimisation loop both trainers share; a batch with no labelled pixel (NaN loss)
    is skipped."""
    history = []
    for it in range(spec.iterations):
        loss = loss_of_next_batch()
        loss, parts = loss if isinstance(loss, tuple) else (loss, {})
        opt.zero_grad(set_to_none=True)
        if math.isnan(loss.item()):  # a batch with no labelled pixel
            continue
        scaler.scale(loss).backward()
        scaler.step(opt)
        scaler.update()
        sched.step()
        # `loss`: the class loss; other parts (the void output's) in columns of their own
        logged = {"loss": float(loss.item()), **{k: float(v.item()) for k, v in parts.items()}}
        history.append({"iteration": it + 1, "loss": logged.pop("loss"),
                        "lr": float(sched.get_last_lr()[0]), **logged})
        if progress is not None:
            progress(it + 1, spec.iterations, history[-1]["loss"])
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


def train_on_features(head: nn.Module, taps: dict[str, np.ndarray], targets: np.ndarray,
                      spec: TrainSpec, seed: int, device: torch.device,
                      progress=None, codes=None) -> list[dict]:
    """Fit a feature head in place on cached taps (N, C, h, w) and sparse targets (N, H, W);
    VOID pixels carry no loss. Batches are drawn with replacement and flipped left-right,
    taps and targets together (the encoder's features of a flipped image are close to its
    flipped features).

    `codes` (asal.learning.targets.Targets, less its maps) reads the targets as code maps:
    multi-class answers train by the partial-label loss, and void answers train the head's
    void output (a head of its own on the frozen taps: the class head learns exactly what it
    would without it)."""
    if not len(targets):
        raise ValueError("no labelled pixel to train on: every query so far was void or "
                         "sieved away; raise the budget")
    from .losses import coded_class_loss, upsampled_cross_entropy, void_loss

    rng = np.random.default_rng(seed)
    head.to(device).train()
    opt, sched = _optimiser(head, spec)
    tap_t = {k: torch.from_numpy(v) for k, v in taps.items() if k in head.TAPS}
    targets = np.ascontiguousarray(targets)
    y_all = torch.from_numpy(targets.astype(np.int32) if targets.dtype == np.uint16 else targets)
    probe = getattr(head, "void_probe", None) is not None
    sets = None if codes is None or codes.sets is None else torch.from_numpy(codes.sets).to(device)

    def flipped(v: torch.Tensor, pick: torch.Tensor, flip: torch.Tensor) -> torch.Tensor:
        out = v[pick]
        out[flip] = out[flip].flip(-1)
        return out

    def loss_of_next_batch():
        pick = torch.from_numpy(rng.integers(0, len(targets), size=spec.batch_size))
        flip = torch.from_numpy(rng.random(spec.batch_size) < 0.5)
        x = {k: flipped(v, pick, flip).to(device) for k, v in tap_t.items()}
        y = flipped(y_all, pick, flip).long().to(device)
        if codes is None:
            return upsampled_cross_entropy(head.logits(x), y, VOID)
        logits, void_logit = head.logits_and_void(x)
        loss = coded_class_loss(logits, y, codes.ignore, codes.void_code, sets)
        if not probe:
            return loss
        extra = void_loss(void_logit, y, codes.ignore, codes.void_code)
        return loss + extra, {"loss": loss, "void_loss": extra}

    scaler = torch.amp.GradScaler("cuda", enabled=False)  # float32: nothing to scale
    return _fit(head, opt, sched, scaler, spec, loss_of_next_batch, progress)


@torch.no_grad()
def predict_probabilities_from_features(head: nn.Module, taps: dict[str, np.ndarray],
                                        size, device: torch.device) -> Iterator[np.ndarray]:
    """Softmax probabilities (C, H, W) of each row of cached taps, in order."""
    head.eval()
    x = {k: torch.from_numpy(v).to(device) for k, v in taps.items()}
    yield from torch.softmax(head(x, tuple(size)).float(), dim=1).cpu().numpy()


@torch.no_grad()
def predict_with_void_from_features(head: nn.Module, taps: dict[str, np.ndarray], size,
                                    device: torch.device):
    """(class probabilities (C, H, W), void probability (H, W)) of each row of cached taps,
    in order: the class part is what predict_probabilities_from_features gives."""
    from .models import _up

    head.eval()
    x = {k: torch.from_numpy(v).to(device) for k, v in taps.items()}
    logits, void = head.logits_and_void(x)
    probs = torch.softmax(_up(logits, tuple(size)).float(), dim=1).cpu().numpy()
    void = torch.sigmoid(_up(void, tuple(size)).float())[:, 0].cpu().numpy()
    yield from zip(probs, void)


def sparse_targets(sp, sieved: dict) -> dict[int, np.ndarray]:
    """Per image with any kept pixel: an (H, W) target map, VOID where unlabelled."""
    pixel = sieved["pixel"][sieved["kept"]]
    label = sieved["label"][sieved["kept"]]
    image = np.searchsorted(sp.pixel_offset, pixel, side="right") - 1
    targets = {}
    for i in np.unique(image):
        h, w = sp.shapes[i]
        t = np.full(h * w, VOID, np.uint8)
        sel = image == i
        t[pixel[sel] - sp.pixel_offset[i]] = label[sel]
        targets[int(i)] = t.reshape(h, w)
    return targets
