"""Segmentation networks by name, and checkpoints that remember what they were built as."""

from __future__ import annotations

import logging
from pathlib import Path

import torch
from torch import nn

log = logging.getLogger(__name__)

MEAN = (0.485, 0.456, 0.406)
STD = (0.229, 0.224, 0.225)


def _block(cin: int, cout: int) -> nn.Sequential:
    return nn.Sequential(
        nn.Conv2d(cin, cout, 3, padding=1, bias=False), nn.BatchNorm2d(cout), nn.ReLU(inplace=True),
        nn.Conv2d(cout, cout, 3, padding=1, bias=False), nn.BatchNorm2d(cout), nn.ReLU(inplace=True))


class SmallUNet(nn.Module):
    """A three-level U-Net of a few hundred thousand weights: trains in seconds on a CPU, so
    the default workflow and the tests run the real loop on a laptop."""

    def __init__(self, n_classes: int, width: int = 16):
        super().__init__()
        w = width
        self.enc1, self.enc2, self.enc3 = _block(3, w), _block(w, 2 * w), _block(2 * w, 4 * w)
        self.pool = nn.MaxPool2d(2)
        self.up2 = nn.ConvTranspose2d(4 * w, 2 * w, 2, stride=2)
        self.dec2 = _block(4 * w, 2 * w)
        self.up1 = nn.ConvTranspose2d(2 * w, w, 2, stride=2)
        self.dec1 = _block(2 * w, w)
        self.head = nn.Conv2d(w, n_classes, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h, w = x.shape[-2:]
        ph, pw = (-h) % 4, (-w) % 4  # two poolings need sizes divisible by 4
        if ph or pw:
            x = nn.functional.pad(x, (0, pw, 0, ph), mode="replicate")
        e1 = self.enc1(x)
        e2 = self.enc2(self.pool(e1))
        e3 = self.enc3(self.pool(e2))
        d2 = self.dec2(torch.cat([self.up2(e3), e2], dim=1))
        d1 = self.dec1(torch.cat([self.up1(d2), e1], dim=1))
        return self.head(d1)[..., :h, :w]


class _TorchvisionWrapper(nn.Module):
    """torchvision segmentation models return a dict; the pipeline wants logits."""

    def __init__(self, net: nn.Module):
        super().__init__()
        self.net = net

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(x)["out"]


def _imagenet_backbone(weights_enum, pretrained: bool):
    if not pretrained:
        return None
    return weights_enum.IMAGENET1K_V1


def build_model(name: str, n_classes: int, pretrained: bool = False) -> nn.Module:
    """A fresh network; `pretrained` loads ImageNet backbone weights through torchvision's
    weights API (needs the torch hub cache or network access)."""
    if name == "small_unet":
        return SmallUNet(n_classes)
    from torchvision.models import segmentation as seg
    from torchvision import models as tvm

    try:
        if name == "lraspp_mobilenet_v3_large":
            net = seg.lraspp_mobilenet_v3_large(
                weights=None, num_classes=n_classes,
                weights_backbone=_imagenet_backbone(tvm.MobileNet_V3_Large_Weights, pretrained))
        elif name == "deeplabv3_resnet50":
            net = seg.deeplabv3_resnet50(
                weights=None, num_classes=n_classes, aux_loss=False,
                weights_backbone=_imagenet_backbone(tvm.ResNet50_Weights, pretrained))
        else:
            raise ValueError(f"unknown model {name!r}; use small_unet, "
                             "lraspp_mobilenet_v3_large or deeplabv3_resnet50")
    except (OSError, RuntimeError) as err:  # download refused or impossible
        raise RuntimeError(f"cannot load ImageNet weights for {name}: {err}. Put the weights "
                           "in the torch hub cache ($TORCH_HOME) or set train.pretrained: "
                           "false") from err
    return _TorchvisionWrapper(net)


def save_checkpoint(path, model: nn.Module, meta: dict) -> None:
    from .artifacts import atomic_path

    with atomic_path(path) as tmp:
        torch.save({"state_dict": model.state_dict(), "meta": meta}, tmp)


def load_checkpoint(path, n_classes: int, device: str = "cpu") -> tuple[nn.Module, dict]:
    """Rebuild the network a checkpoint was trained as; refuse a class-count mismatch."""
    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(f"{path}: checkpoint missing; run the train stage first")
    try:
        blob = torch.load(path, map_location=device, weights_only=False)
    except Exception as err:  # torch raises several types for a damaged file
        raise RuntimeError(f"{path}: unreadable checkpoint ({err}); delete it and rerun "
                           "train") from err
    meta = blob["meta"]
    if meta["n_classes"] != n_classes:
        raise ValueError(f"{path}: checkpoint predicts {meta['n_classes']} classes but the "
                         f"dataset has {n_classes}; it belongs to another dataset or config")
    model = build_model(meta["model"], n_classes)
    model.load_state_dict(blob["state_dict"])
    return model.to(device).eval(), meta


def resolve_device(name: str) -> torch.device:
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if name.startswith("cuda") and not torch.cuda.is_available():
        raise RuntimeError("train.device is cuda but no GPU is visible; use auto or cpu")
    return torch.device(name)
