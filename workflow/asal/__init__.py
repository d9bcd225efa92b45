"""asal: adaptive-superpixel active learning for semantic segmentation (Kim et al., ICCV 2023)."""

__version__ = "0.1.0"
