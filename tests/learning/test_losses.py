"""The sparse cross-entropy of upsampled logits (asal.learning.losses) against hand-worked
bilinear values and against the dense route it replaces."""

import numpy as np
import pytest
import torch
from torch import nn

from asal.learning.losses import upsampled_cross_entropy, upsampled_logits_at


def test_bilinear_value_by_hand():
    # A 2x2 map [[0, 1], [2, 3]] upsampled to 4x4 (align_corners=False): output pixel (1, 1)
    # reads source (0.25, 0.25), so 0.75*(0.75*0 + 0.25*1) + 0.25*(0.75*2 + 0.25*3) = 0.75;
    # pixel (0, 0) reads (-0.25, -0.25), clamped to (0, 0): 0; pixel (3, 3) reads (1.25, 1.25),
    # past the last row and column: 3.
    low = torch.tensor([[[[0.0, 1.0], [2.0, 3.0]]]])
    b = torch.tensor([0, 0, 0])
    i = torch.tensor([1, 0, 3])
    j = torch.tensor([1, 0, 3])
    got = upsampled_logits_at(low, b, i, j, (4, 4))[:, 0]
    assert got.tolist() == pytest.approx([0.75, 0.0, 3.0])


def test_same_loss_and_gradient_as_dense_upsampling():
    gen = torch.Generator().manual_seed(0)
    low = torch.randn(3, 5, 6, 7, generator=gen, requires_grad=True)
    target = torch.randint(0, 5, (3, 45, 61), generator=gen)
    target[torch.rand(3, 45, 61, generator=gen) > 0.1] = 255  # 10% labelled: the sparse route
    dense = nn.functional.cross_entropy(
        nn.functional.interpolate(low, size=(45, 61), mode="bilinear", align_corners=False),
        target, ignore_index=255)
    (g_dense,) = torch.autograd.grad(dense, low)
    sparse = upsampled_cross_entropy(low, target, 255)
    (g_sparse,) = torch.autograd.grad(sparse, low)
    assert sparse.item() == pytest.approx(dense.item(), rel=1e-6)
    np.testing.assert_allclose(g_sparse.numpy(), g_dense.numpy(), rtol=1e-4, atol=1e-7)


def test_every_pixel_labelled_takes_the_dense_route_with_the_same_value():
    gen = torch.Generator().manual_seed(1)
    low = torch.randn(2, 3, 4, 4, generator=gen)
    target = torch.randint(0, 3, (2, 16, 16), generator=gen)
    up = nn.functional.interpolate(low, size=(16, 16), mode="bilinear", align_corners=False)
    assert upsampled_cross_entropy(low, target, 255).item() == pytest.approx(
        nn.functional.cross_entropy(up, target).item())


def test_no_labelled_pixel_gives_nan_like_the_dense_loss():
    low = torch.zeros(1, 3, 2, 2, requires_grad=True)
    assert torch.isnan(upsampled_cross_entropy(low, torch.full((1, 8, 8), 255), 255))
