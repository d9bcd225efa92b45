"""A trained model as one network from pixels to class logits, for use outside a round:
`asal segment` runs it on new images, `asal export-model` writes it as TorchScript (and ONNX).

Inside a round a feature head reads the frozen encoder's cached features; here the encoder
runs in front of it, its taps rounded to the float16 the features file stores, so the
network gives the round's predictions on the pool's own images. The input normalisation is
inside: the network takes what an image file holds.

    input:  float32 (N, 3, H, W), RGB in 0..255, at the model's size (meta image_size)
    output: float32 (N, C, H, W) class logits; argmax is the class index, in the order of
            meta classes
"""

from __future__ import annotations

import cv2
import numpy as np
import torch
from torch import nn

from .models import MEAN, STD, _up, load_checkpoint


class WholeNetwork(nn.Module):
    """Pixels -> class logits for any kind of asal model."""

    def __init__(self, model: nn.Module, meta: dict):
        super().__init__()
        self.model = model.eval()
        self.encoder = None
        if getattr(model, "needs_features", False):
            from .encoders import EfficientNetLite

            self.encoder = EfficientNetLite(meta["encoder"])
            self.encoder.load_imagenet()
            self.encoder.eval()
        self.register_buffer("mean", 255.0 * torch.tensor(MEAN).view(1, 3, 1, 1))
        self.register_buffer("std", 255.0 * torch.tensor(STD).view(1, 3, 1, 1))

    def forward(self, rgb: torch.Tensor) -> torch.Tensor:
        if self.encoder is None:
            return self.model((rgb - self.mean) / self.std)
        taps = self.encoder.tap_features((rgb - 127.0) / 128.0)  # lite_input, as features does
        taps = {k: v.half().float() for k, v in taps.items() if k in self.model.TAPS}
        return _up(self.model.logits(taps), rgb.shape[-2:])


def load_whole(model_path, device: str = "cpu") -> tuple[WholeNetwork, dict]:
    """The checkpoint's network from pixels, and its meta (classes, model, image_size...)."""
    model, meta = load_checkpoint(model_path, None, device)
    return WholeNetwork(model, meta).to(device).eval(), meta


def model_size(meta: dict, size: tuple[int, int] | None = None,
               model_path: str = "the checkpoint") -> tuple[int, int]:
    """(H, W) the model works at: its training images' size, or `size` for a checkpoint
    saved before asal recorded it."""
    if size is not None:
        return int(size[0]), int(size[1])
    if meta.get("image_size"):
        return tuple(int(x) for x in meta["image_size"])
    raise ValueError(f"{model_path} does not record its image size (saved by an older asal): "
                     "give --size W H, the size of the pool images it was trained on")


@torch.no_grad()
def segment_image(net: WholeNetwork, image: np.ndarray, size: tuple[int, int],
                  device: str = "cpu") -> np.ndarray:
    """Class index (H, W) uint8 of an RGB image of any size: resized to the model's size,
    run, and the logits brought back bilinearly to the image's own size."""
    h, w = image.shape[:2]
    shrink = size[0] * size[1] < h * w  # as the dataset reader resizes (area down, linear up)
    small = image if (h, w) == tuple(size) else cv2.resize(
        image, (size[1], size[0]), interpolation=cv2.INTER_AREA if shrink else cv2.INTER_LINEAR)
    x = torch.from_numpy(np.ascontiguousarray(small)).permute(2, 0, 1)[None].float().to(device)
    logits = net(x)
    if (h, w) != tuple(size):
        logits = nn.functional.interpolate(logits, size=(h, w), mode="bilinear",
                                           align_corners=False)
    return logits[0].argmax(0).to(torch.uint8).cpu().numpy()


def overlay(image: np.ndarray, classes: np.ndarray, palette: np.ndarray,
            alpha: float = 0.5) -> np.ndarray:
    """The image with each pixel's class colour laid over it."""
    colour = palette[np.minimum(classes, len(palette) - 1)]
    return (alpha * colour + (1 - alpha) * image).astype(np.uint8)
