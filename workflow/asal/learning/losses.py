"""Eq. 10's cross-entropy on labelled pixels only, for a head whose logits come at a lower
resolution than the labels.

Upsampling every logit to the image size and then ignoring the unlabelled pixels spends most
of a head's training step on pixels that carry no loss (a round's labels cover a few percent of
a pool image). Bilinear upsampling is linear, so the logit of a labelled pixel is a weighted sum
of four low-resolution logits: evaluating it at the labelled pixels alone gives the same loss and
the same gradients as the dense route, up to the order of floating-point sums.
"""

from __future__ import annotations

import torch
from torch import nn

# Above this share of labelled pixels (the Full ceiling, every pixel labelled) gathering costs
# more than upsampling the whole map, so the dense route is taken; both compute the same loss.
DENSE_SHARE = 0.25


def _source_index(dst: torch.Tensor, in_size: int, out_size: int):
    """Where output pixels `dst` read the input under bilinear upsampling with
    align_corners=False, as torch's own kernel computes it (float32 scale, clamped at 0): the
    lower neighbour, the upper one (clamped at the edge) and the upper one's weight."""
    scale = torch.tensor(in_size / out_size, dtype=torch.float32)
    src = ((dst.to(torch.float32) + 0.5) * scale - 0.5).clamp(min=0)
    lo = src.to(torch.int64).clamp(max=in_size - 1)
    hi = (lo + 1).clamp(max=in_size - 1)
    return lo, hi, (src - lo.to(torch.float32)).unsqueeze(1)


def upsampled_logits_at(low: torch.Tensor, b: torch.Tensor, i: torch.Tensor, j: torch.Tensor,
                        size: tuple[int, int]) -> torch.Tensor:
    """(N, C) logits of pixels (b, i, j) of the bilinear upsampling of `low` (B, C, h, w) to
    `size` (H, W), without computing the other pixels."""
    h, w = low.shape[-2:]
    y0, y1, ly = _source_index(i, h, size[0])
    x0, x1, lx = _source_index(j, w, size[1])
    grid = low.permute(0, 2, 3, 1)  # (B, h, w, C): one row of C logits per gathered pixel
    top = (1 - lx) * grid[b, y0, x0] + lx * grid[b, y0, x1]
    bottom = (1 - lx) * grid[b, y1, x0] + lx * grid[b, y1, x1]
    return (1 - ly) * top + ly * bottom


def upsampled_cross_entropy(low: torch.Tensor, target: torch.Tensor, ignore: int) -> torch.Tensor:
    """Mean cross-entropy over the pixels of `target` (B, H, W) that are not `ignore`, of the
    logits `low` (B, C, h, w) upsampled bilinearly to the target's size. NaN when no pixel is
    labelled, as nn.CrossEntropyLoss gives."""
    size = tuple(target.shape[-2:])
    labelled = target != ignore
    if labelled.float().mean().item() > DENSE_SHARE:
        up = nn.functional.interpolate(low, size=size, mode="bilinear", align_corners=False)
        return nn.functional.cross_entropy(up, target, ignore_index=ignore)
    b, i, j = labelled.nonzero(as_tuple=True)
    if not len(b):
        return low.sum() * float("nan")
    return nn.functional.cross_entropy(upsampled_logits_at(low, b, i, j, size), target[b, i, j])


def partial_label_loss(logits: torch.Tensor, allowed: torch.Tensor) -> torch.Tensor:
    """Mean over rows of -log sum_{c allowed} p_c, p = softmax(logits): the partial-label
    loss of a multi-class answer (the set's probability is maximised, not one class's). With
    one class allowed it is the cross-entropy."""
    masked = logits.masked_fill(~allowed, float("-inf"))
    return (torch.logsumexp(logits, dim=1) - torch.logsumexp(masked, dim=1)).mean()


def coded_class_loss(low: torch.Tensor, target: torch.Tensor, ignore: int, void_code: int,
                     sets: torch.Tensor | None) -> torch.Tensor:
    """The class loss of code maps (asal.learning.targets): cross-entropy at class codes and
    the partial-label loss at set codes (C + k allows the classes of sets[k]), over the
    labelled pixels of `target`, of logits `low` upsampled bilinearly; void-answered pixels
    carry no class. Without sets it is `upsampled_cross_entropy`, to the bit."""
    target = torch.where(target == void_code, torch.full_like(target, ignore), target)
    if sets is None:
        return upsampled_cross_entropy(low, target, ignore)
    n_classes = low.shape[1]
    b, i, j = (target != ignore).nonzero(as_tuple=True)
    if not len(b):
        return low.sum() * float("nan")
    z = upsampled_logits_at(low, b, i, j, tuple(target.shape[-2:]))
    code = target[b, i, j]
    single = code < n_classes
    allowed = torch.zeros(len(code), n_classes, dtype=torch.bool, device=low.device)
    allowed[single] = nn.functional.one_hot(code[single], n_classes).bool()
    allowed[~single] = sets[code[~single] - n_classes]
    return partial_label_loss(z, allowed)


def void_loss(void_low: torch.Tensor, target: torch.Tensor, ignore: int,
              void_code: int) -> torch.Tensor:
    """Binary cross-entropy of the void logit at every labelled pixel: 1 where the oracle
    answered void, 0 where it named a class (NaN without a labelled pixel)."""
    b, i, j = (target != ignore).nonzero(as_tuple=True)
    if not len(b):
        return void_low.sum() * float("nan")
    v = upsampled_logits_at(void_low, b, i, j, tuple(target.shape[-2:]))[:, 0]
    return nn.functional.binary_cross_entropy_with_logits(
        v, (target[b, i, j] == void_code).to(v.dtype))
