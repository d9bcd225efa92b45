"""Pictures of artifacts: people understand superpixels by looking at them.

Pure functions from arrays to RGB uint8 images (overlays, side-by-side panels, legends), plus
matplotlib figures for curves and bar charts. Files are written by the caller.
"""

from __future__ import annotations

import cv2
import numpy as np

BOUNDARY = np.array([255, 230, 0], np.uint8)  # yellow reads on street scenes
REMOVED = np.array([255, 0, 255], np.uint8)  # sieved-out pixels
VOID_COLOUR = np.array([0, 0, 0], np.uint8)


def boundaries(region_map: np.ndarray) -> np.ndarray:
    """Pixels whose right or lower neighbour lies in another region."""
    edge = np.zeros(region_map.shape, bool)
    edge[:, :-1] |= region_map[:, :-1] != region_map[:, 1:]
    edge[:-1, :] |= region_map[:-1, :] != region_map[1:, :]
    return edge


def draw_boundaries(image: np.ndarray, region_map: np.ndarray,
                    colour: np.ndarray = BOUNDARY) -> np.ndarray:
    out = image.copy()
    out[boundaries(region_map)] = colour
    return out


def colourise(label: np.ndarray, palette: np.ndarray, void: int = 255) -> np.ndarray:
    """Label map to colours; void (and anything outside the palette) black."""
    lut = np.zeros((256, 3), np.uint8)
    lut[:len(palette)] = palette
    lut[void] = VOID_COLOUR
    return lut[np.clip(label, 0, 255).astype(np.uint8)]


def blend(image: np.ndarray, colours: np.ndarray, mask: np.ndarray, alpha: float = 0.6):
    out = image.astype(np.float32)
    out[mask] = (1 - alpha) * out[mask] + alpha * colours[mask].astype(np.float32)
    return out.astype(np.uint8)


def queries_picture(image: np.ndarray, base_map: np.ndarray, query_map: np.ndarray,
                    answer_of_query: np.ndarray, palette: np.ndarray,
                    n_classes: int) -> np.ndarray:
    """Queried regions filled with the colour of the oracle's answer (void ones black), their
    outlines in yellow; unqueried pixels stay as the image."""
    queried = query_map >= 0
    label = np.full(query_map.shape, 255, np.int64)
    answers = answer_of_query[np.maximum(query_map, 0)]
    label[queried] = np.where(answers[queried] >= n_classes, 255, answers[queried])
    out = blend(image, colourise(label, palette), queried)
    outline = boundaries(np.where(queried, query_map, -1))
    out[outline] = BOUNDARY
    return out


def sieve_picture(image: np.ndarray, label: np.ndarray, kept: np.ndarray,
                  labelled: np.ndarray, palette: np.ndarray) -> np.ndarray:
    """Kept pixels in their label's colour, removed ones magenta."""
    colours = colourise(label, palette)
    colours[labelled & ~kept] = REMOVED
    return blend(image, colours, labelled, alpha=0.75)


def legend(names: list[str], palette: np.ndarray, width: int, extra: list | None = None,
           row: int = 18) -> np.ndarray:
    """Colour swatches with names, laid out in columns under a picture of `width` px."""
    entries = [(n, palette[k]) for k, n in enumerate(names)] + list(extra or [])
    col_w = 150
    per_row = max(1, width // col_w)
    rows = (len(entries) + per_row - 1) // per_row
    panel = np.full((rows * row + 6, max(width, col_w), 3), 255, np.uint8)
    for k, (name, colour) in enumerate(entries):
        y, x = 3 + (k // per_row) * row, 4 + (k % per_row) * col_w
        cv2.rectangle(panel, (x, y), (x + 14, y + 12), tuple(int(c) for c in colour), -1)
        cv2.rectangle(panel, (x, y), (x + 14, y + 12), (0, 0, 0), 1)
        cv2.putText(panel, str(name)[:18], (x + 19, y + 11), cv2.FONT_HERSHEY_SIMPLEX, 0.38,
                    (0, 0, 0), 1, cv2.LINE_AA)
    return panel


def titled(image: np.ndarray, title: str, height: int = 20) -> np.ndarray:
    bar = np.full((height, image.shape[1], 3), 255, np.uint8)
    cv2.putText(bar, title, (4, height - 6), cv2.FONT_HERSHEY_SIMPLEX, 0.45, (0, 0, 0), 1,
                cv2.LINE_AA)
    return np.vstack([bar, image])


def hstack(panels: list[np.ndarray], gap: int = 4) -> np.ndarray:
    h = max(p.shape[0] for p in panels)
    padded = []
    for k, p in enumerate(panels):
        if p.shape[0] < h:
            p = np.vstack([p, np.full((h - p.shape[0], p.shape[1], 3), 255, np.uint8)])
        padded.append(p)
        if k < len(panels) - 1:
            padded.append(np.full((h, gap, 3), 255, np.uint8))
    return np.hstack(padded)


def vstack(panels: list[np.ndarray]) -> np.ndarray:
    w = max(p.shape[1] for p in panels)
    return np.vstack([np.hstack([p, np.full((p.shape[0], w - p.shape[1], 3), 255, np.uint8)])
                      if p.shape[1] < w else p for p in panels])


def upscale(image: np.ndarray, min_width: int = 480) -> np.ndarray:
    """Small images (the synthetic default) are enlarged so their pixels can be seen."""
    factor = max(1, int(np.ceil(min_width / image.shape[1])))
    if factor == 1:
        return image
    return cv2.resize(image, None, fx=factor, fy=factor, interpolation=cv2.INTER_NEAREST)


def knee_figure(confidence: np.ndarray, threshold: float, n_points: int, title: str):
    """Sorted confidences of a region's label with the sampled points and the knee (Fig. 11)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    curve = np.sort(confidence)
    stride = max(1, len(curve) // n_points)
    fig, ax = plt.subplots(figsize=(5.2, 3.6), dpi=110)
    ax.plot(np.arange(len(curve)), curve, color="0.4", lw=1.5, label="sorted confidence")
    idx = np.arange(0, len(curve), stride)
    ax.plot(idx, curve[idx], "o", ms=4, color="tab:blue", label="sampled for Kneedle")
    if np.isfinite(threshold):
        ax.axhline(threshold, color="tab:red", ls="--", lw=1,
                   label=f"phi = {threshold:.3f} (knee)")
        removed = int((curve < threshold).sum())
        ax.axvspan(0, removed, color="tab:red", alpha=0.08)
    ax.set_xlabel("pixels of the region, by confidence")
    ax.set_ylabel("f(D(s); x)")
    ax.set_ylim(0, 1.02)
    ax.set_title(title, fontsize=10)
    ax.legend(fontsize=8, loc="lower right")
    fig.tight_layout()
    return fig


def class_count_figure(names: list[str], counts: dict[str, np.ndarray], title: str):
    """Queries per class under several acquisition functions, side by side (Fig. 19)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(max(5.0, 0.55 * len(names) + 2), 3.6), dpi=110)
    width = 0.8 / max(len(counts), 1)
    x = np.arange(len(names))
    for k, (label, values) in enumerate(counts.items()):
        ax.bar(x + (k - (len(counts) - 1) / 2) * width, values, width, label=label)
    ax.set_xticks(x, names, rotation=45, ha="right", fontsize=8)
    ax.set_ylabel("queries")
    ax.set_title(title, fontsize=10)
    ax.legend(fontsize=8)
    fig.tight_layout()
    return fig


def figure_to_rgb(fig) -> np.ndarray:
    import matplotlib.pyplot as plt

    fig.canvas.draw()
    rgb = np.asarray(fig.canvas.buffer_rgba())[:, :, :3].copy()
    plt.close(fig)
    return rgb
