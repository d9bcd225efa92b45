"""Running a trained model over named images, whichever kind it is: a network over pixels, or a
head over a frozen encoder's cached features. predict, sieve and evaluate all take their
class probabilities from here, so each stage's torch set-up is written once.
"""

from __future__ import annotations

import contextlib
import logging
from typing import Iterator

import numpy as np

log = logging.getLogger(__name__)


def torch_setup(threads: int = 0, device: str = "auto"):
    """Thread count (0: torch's default) and the device a stage runs on."""
    import torch

    from .models import resolve_device

    if threads:
        torch.set_num_threads(threads)
    return resolve_device(device)


class Predictor:
    """Softmax probabilities (C, H, W) of a checkpoint on images given by name.

    A feature head needs the features file its encoder made (`features_path`); a network over
    pixels reads the images from the dataset.
    """

    def __init__(self, model_path, ds, device, features_path=None, batch_size: int = 8):
        from .models import load_checkpoint

        self.ds, self.device, self.batch_size = ds, device, batch_size
        self.model, self.meta = load_checkpoint(model_path, ds.n_classes, str(device))
        self.features = None
        self._stack = contextlib.ExitStack()
        if getattr(self.model, "needs_features", False):
            if features_path is None:
                raise ValueError(f"{model_path}: a {self.meta['model']} over "
                                 f"{self.meta.get('encoder')} features needs the features "
                                 "file (--features); run the features stage")
            from ..store.feature_file import open_features

            self.features = self._stack.enter_context(open_features(features_path))
            check_encoder(features_path, self.features.encoder, self.meta.get("encoder"))

    def close(self) -> None:
        self._stack.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    @property
    def has_void(self) -> bool:
        """Whether the model has a void output (a feature head trained by this version)."""
        return getattr(self.model, "void_probe", None) is not None

    def _chunks(self, names):
        names = list(names)
        for start in range(0, len(names), self.batch_size):
            yield names[start:start + self.batch_size]

    def probs_with_void(self, names) -> Iterator[tuple[np.ndarray, np.ndarray]]:
        """(class probabilities, void probability (H, W)) of each named image, in order."""
        from .training import predict_with_void_from_features

        if not self.has_void:
            raise ValueError(f"{self.meta['model']}: this model has no void output")
        for chunk in self._chunks(names):
            yield from predict_with_void_from_features(
                self.model, self.features.rows(chunk, self.model.TAPS),
                self.features.image_shape, self.device)

    def probs(self, names) -> Iterator[np.ndarray]:
        """Probabilities of each named image, in order, a batch at a time."""
        from .training import predict_probabilities, predict_probabilities_from_features

        for chunk in self._chunks(names):
            if self.features is not None:
                yield from predict_probabilities_from_features(
                    self.model, self.features.rows(chunk, self.model.TAPS),
                    self.features.image_shape, self.device)
            else:
                images = [self.ds.read_image(n) for n in chunk]
                yield from predict_probabilities(self.model, images, self.device,
                                                 self.batch_size)


def check_encoder(features_path, made_by: str, wanted: str | None) -> None:
    if wanted is not None and made_by != wanted:
        from ..store.artifacts import ArtifactError

        raise ArtifactError(f"{features_path}: features of {made_by}, but the model was "
                            f"trained on {wanted} features; give the matching file")
