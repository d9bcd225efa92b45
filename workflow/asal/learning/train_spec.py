"""Training settings (TrainSpec), apart from the training loop so that the command line
and the Snakefile's checks do not load torch."""

from __future__ import annotations

from dataclasses import asdict, dataclass, replace

from ..experiment.settings import choices, defaults

_DEFAULTS = defaults("train")


@dataclass(frozen=True)
class TrainSpec:
    """The settings that make a model (config `train`, less `threads`; defaults from the
    schema). Where it runs (device, threads) is the job's, not the model's."""

    model: str = _DEFAULTS["model"]
    pretrained: bool = _DEFAULTS["pretrained"]
    iterations: int = _DEFAULTS["iterations"]
    batch_size: int = _DEFAULTS["batch_size"]
    lr: float = _DEFAULTS["lr"]
    weight_decay: float = _DEFAULTS["weight_decay"]
    optimizer: str = _DEFAULTS["optimizer"]  # the authors': sgd, momentum 0.9, poly decay
    crop: int = _DEFAULTS["crop"]  # square random crop side; 0 trains on whole images
    init: str = _DEFAULTS["init"]  # scratch: the trial's initial weights every round
    # init previous: iterations of rounds >= 1, continuing from theta_{t-1} (None: iterations)
    finetune_iterations: int | None = _DEFAULTS["finetune_iterations"]
    amp: bool = _DEFAULTS["amp"]  # mixed precision on CUDA
    encoder: str = _DEFAULTS["encoder"]  # model feature_head: the frozen encoder of its features

    def __post_init__(self):
        for key in ("model", "optimizer", "init", "encoder"):
            allowed = choices(f"train.{key}")
            if getattr(self, key) not in allowed:
                raise ValueError(f"train.{key} {getattr(self, key)!r}: use one of {allowed}")
        if self.finetune_iterations is not None and self.init != "previous":
            raise ValueError("train.finetune_iterations applies to rounds that continue from "
                             "theta_{t-1}: set train.init previous, or finetune_iterations null")
        if self.batch_size < 2:
            raise ValueError("train.batch_size must be at least 2 (batch norm needs it)")

    def for_round(self, continued: bool) -> "TrainSpec":
        """The recipe of one training run: a run continuing from theta_{t-1} takes
        `finetune_iterations` (its learning-rate schedule spans them)."""
        if continued and self.finetune_iterations is not None:
            return replace(self, iterations=self.finetune_iterations)
        return self

    @property
    def uses_features(self) -> bool:
        """A head over cached features of a frozen encoder (the `features` stage)."""
        return self.model == "feature_head"

    def as_dict(self) -> dict:
        return asdict(self)
