"""The partial-label loss of multi-class answers and the void output's loss, by hand."""

import math

import numpy as np
import pytest
import torch

from asal.learning.losses import (coded_class_loss, partial_label_loss,
                                  upsampled_cross_entropy, void_loss)


def test_partial_label_loss_is_minus_log_of_the_set_probability():
    logits = torch.tensor([[0.0, math.log(2.0), math.log(3.0)],   # p = 1/6, 2/6, 3/6
                           [0.0, 0.0, 0.0]])                      # p = 1/3 each
    allowed = torch.tensor([[True, True, False], [False, False, True]])
    # row 0: -log(1/6 + 2/6) = log 2; row 1: -log(1/3) = log 3; mean (log 2 + log 3) / 2
    got = partial_label_loss(logits, allowed)
    assert got.item() == pytest.approx((math.log(2) + math.log(3)) / 2, abs=1e-6)
    # one class allowed: the cross-entropy of that class
    one = torch.tensor([[False, False, True]])
    ce = torch.nn.functional.cross_entropy(logits[:1], torch.tensor([2]))
    assert partial_label_loss(logits[:1], one).item() == pytest.approx(ce.item(), abs=1e-6)
    # every class allowed: nothing to learn
    assert partial_label_loss(logits, torch.ones(2, 3, dtype=torch.bool)).item() == \
        pytest.approx(0.0, abs=1e-6)


def _low():
    torch.manual_seed(0)
    return torch.randn(2, 3, 2, 2)  # logits at stride 2 of 4x4 targets


def test_coded_loss_without_sets_is_the_cross_entropy_to_the_bit():
    low = _low()
    target = torch.full((2, 4, 4), 255, dtype=torch.long)
    target[0, 1, 2], target[1, 3, 0], target[1, 0, 0] = 2, 1, 254  # 254: answered void
    plain = target.clone()
    plain[1, 0, 0] = 255
    got = coded_class_loss(low, target, 255, 254, None)
    assert torch.equal(got, upsampled_cross_entropy(low, plain, 255))


def test_coded_loss_reads_set_codes_as_partial_labels():
    low = _low()
    target = torch.full((2, 4, 4), 255, dtype=torch.long)
    target[0, 1, 2] = 2          # class 2
    target[1, 3, 0] = 3          # code 3 = C + 0: classes {0, 1}
    sets = torch.tensor([[True, True, False]])
    up = torch.nn.functional.interpolate(low, size=(4, 4), mode="bilinear",
                                         align_corners=False)
    p0 = torch.softmax(up[0, :, 1, 2], 0)
    p1 = torch.softmax(up[1, :, 3, 0], 0)
    expected = (-torch.log(p0[2]) - torch.log(p1[0] + p1[1])) / 2
    got = coded_class_loss(low, target, 255, 254, sets)
    assert got.item() == pytest.approx(expected.item(), abs=1e-5)


def test_void_loss_is_binary_cross_entropy_at_labelled_pixels():
    void_low = torch.zeros(1, 1, 2, 2)  # logit 0 everywhere: p = 1/2
    target = torch.full((1, 4, 4), 255, dtype=torch.long)
    target[0, 0, 0], target[0, 2, 2] = 254, 1
    # both pixels: -log(1/2) whatever their target
    assert void_loss(void_low, target, 255, 254).item() == pytest.approx(math.log(2), abs=1e-6)
    void_low = torch.full((1, 1, 2, 2), math.log(3.0))  # p = 3/4
    # void pixel: -log(3/4); class pixel: -log(1/4); mean
    expected = (-math.log(0.75) - math.log(0.25)) / 2
    assert void_loss(void_low, target, 255, 254).item() == pytest.approx(expected, abs=1e-6)
    assert np.isnan(void_loss(void_low, torch.full((1, 4, 4), 255), 255, 254).item())


def test_single_label_code_maps_train_a_network_as_before_to_the_bit():
    """A network over pixels trained on code maps without multi-class sets (void answers
    marked 254) learns exactly what it learnt from asal's plain sparse targets."""
    from asal.learning.models import build_model
    from asal.learning.targets import Targets
    from asal.learning.train_spec import TrainSpec
    from asal.learning.training import seed_everything, train

    rng = np.random.default_rng(0)
    images = [rng.integers(0, 256, (16, 16, 3), np.uint8) for _ in range(3)]
    plain = [np.where(rng.random((16, 16)) < 0.2, rng.integers(0, 3, (16, 16)), 255)
             .astype(np.uint8) for _ in range(3)]
    coded = [p.copy() for p in plain]
    row = coded[0][0]
    row[row == 255] = 254  # unlabelled pixels answered void: still no class
    spec = TrainSpec(model="small_unet", iterations=3, batch_size=2)
    weights = []
    for targets, codes in ((plain, None), (coded, Targets({}, 255, 254, None))):
        seed_everything(1)
        model = build_model("small_unet", 3)
        history = train(model, images, targets, spec, 5, torch.device("cpu"), codes=codes)
        weights.append((history, [p.detach().clone() for p in model.parameters()]))
    assert weights[0][0] == weights[1][0]
    assert all(torch.equal(a, b) for a, b in zip(weights[0][1], weights[1][1]))
