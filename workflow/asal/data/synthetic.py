"""Deterministic synthetic street scenes, the default dataset.

Real driving datasets need downloads and licences; this generator gives the
workflow something with the same difficulties to work on: classes of very
unequal frequency (so class-balanced acquisition matters), thin and small
objects (so superpixel merging and label sieving can go wrong), textures that
a small CNN can learn while colour alone is ambiguous, and boundaries in the
image that are softer than those in the label (so superpixels do not align
perfectly with the ground truth).
"""

from __future__ import annotations

import json
import logging
import os
from pathlib import Path

import cv2
import numpy as np

log = logging.getLogger(__name__)

CLASSES = ("sky", "building", "road", "vegetation", "pole", "sign")
SKY, BUILDING, ROAD, VEGETATION, POLE, SIGN = range(len(CLASSES))
VOID = 255

# Cityscapes-like colours so previews read at a glance.
PALETTE = np.array(
    [
        [70, 130, 180],   # sky
        [70, 70, 70],     # building
        [128, 64, 128],   # road
        [107, 142, 35],   # vegetation
        [153, 153, 153],  # pole
        [220, 220, 0],    # sign
    ],
    dtype=np.uint8,
)

# Per-class luminance grain (std, 0..255 scale) added after the blur, so that
# fine texture, not only colour, tells e.g. road from a grey building apart.
_GRAIN = np.full(256, 4.0, dtype=np.float32)
_GRAIN[[SKY, BUILDING, ROAD, VEGETATION, POLE, SIGN]] = [1.5, 4.0, 14.0, 9.0, 2.5, 2.0]
_GRAIN[VOID] = 6.0

GENERATOR_VERSION = 1
_SPLITS = ("pool", "val")


def _smooth_noise(rng: np.random.Generator, h: int, w: int, cell: float) -> np.ndarray:
    """Band-limited noise (about unit std) with features of ~`cell` px, made cheaply by upsampling."""
    gh = max(2, int(np.ceil(h / cell)) + 1)
    gw = max(2, int(np.ceil(w / cell)) + 1)
    small = rng.standard_normal((gh, gw)).astype(np.float32)
    return cv2.resize(small, (w, h), interpolation=cv2.INTER_CUBIC)


def _paint(img: np.ndarray, label: np.ndarray, mask: np.ndarray, cls: int,
           field: np.ndarray, y0: int = 0, x0: int = 0) -> None:
    """Write one layer into a (sub-)window; later layers occlude earlier ones, as in a scene."""
    h, w = mask.shape
    sl = (slice(y0, y0 + h), slice(x0, x0 + w))
    label[sl][mask] = cls
    if field.shape != (h, w, 3):
        field = np.broadcast_to(field, (h, w, 3))
    img[sl][mask] = field[mask]


def _window(cy: float, cx: float, ry: float, rx: float, h: int, w: int):
    """Clip an object's bounding box to the image; None when it lies outside."""
    y0, y1 = max(0, int(np.floor(cy - ry))), min(h, int(np.ceil(cy + ry)) + 1)
    x0, x1 = max(0, int(np.floor(cx - rx))), min(w, int(np.ceil(cx + rx)) + 1)
    if y0 >= y1 or x0 >= x1:
        return None
    return y0, y1, x0, x1


def make_scene(rng: np.random.Generator, height: int, width: int) -> tuple[np.ndarray, np.ndarray]:
    """One street-like scene: (RGB uint8 image (H,W,3), label uint8 (H,W), 255 = void).

    Every size is drawn relative to the image so the class mix is about the
    same from 32x32 to 512x1024; only thin structures keep a 1 px minimum.
    """
    H, W = int(height), int(width)
    if H < 8 or W < 8:
        raise ValueError(f"scene too small: {H}x{W} (need at least 8x8)")
    s = min(H / 96.0, W / 128.0)  # pixel scale relative to the reference size
    yy = np.arange(H, dtype=np.float32)[:, None]
    xx = np.arange(W, dtype=np.float32)[None, :]
    img = np.empty((H, W, 3), dtype=np.float32)
    label = np.empty((H, W), dtype=np.uint8)

    # --- horizon: road below, varying height and tilt per image
    horizon_mid = H * rng.uniform(0.62, 0.74)
    tilt = rng.uniform(-0.05, 0.05) * H / W
    horizon = horizon_mid + tilt * (np.arange(W, dtype=np.float32) - W / 2)  # (W,)

    # --- sky: vertical gradient, clear or overcast, with soft clouds
    if rng.random() < 0.7:
        top = np.array([60, 115, 210]) + rng.uniform(-15, 15, 3)
        bottom = np.array([165, 195, 235]) + rng.uniform(-15, 15, 3)
    else:
        g = rng.uniform(140, 190)
        top = np.array([g, g + 3, g + 10])
        bottom = top + rng.uniform(20, 40)
    t = (yy / H)[..., None]
    clouds = np.clip(_smooth_noise(rng, H, W, 24 * s), 0, None)[..., None] * rng.uniform(10, 35)
    sky = top * (1 - t) + bottom * t + clouds
    img[:] = sky
    label[:] = SKY

    # --- buildings: irregular skyline of blocks, each with its own facade and windows
    col_top = np.empty(W, dtype=np.float32)
    col_bid = np.empty(W, dtype=np.int64)
    bx0 = []
    x, b = 0, 0
    while x < W:
        bw = max(2, int(round(W * rng.uniform(0.07, 0.28))))
        col_top[x:x + bw] = H * rng.uniform(0.05, 0.42)
        col_bid[x:x + bw] = b
        bx0.append(x)
        x += bw
        b += 1
    nb = b
    tone = rng.uniform(70, 190, nb)
    tint = rng.uniform(-18, 18, (nb, 3))
    facade = np.clip(tone[:, None] + tint, 0, 255)
    win_px = np.maximum(3.0, W * rng.uniform(0.035, 0.07, nb))
    win_py = np.maximum(3.0, H * rng.uniform(0.05, 0.09, nb))
    win_dx = rng.uniform(0.35, 0.6, nb)
    win_dy = rng.uniform(0.35, 0.6, nb)
    has_win = rng.random(nb) < 0.85
    win_col = np.clip(facade * rng.uniform(0.25, 0.55, (nb, 1)) + [0, 5, 15], 0, 255)

    ctop = col_top[None, :]
    bid = col_bid
    building = (yy >= ctop) & (yy < horizon[None, :])
    fx = (xx - np.asarray(bx0, dtype=np.float32)[bid][None, :]) / win_px[bid][None, :]
    fy = (yy - ctop - 0.5 * win_py[bid][None, :]) / win_py[bid][None, :]
    windows = ((fx % 1.0) < win_dx[bid][None, :]) & ((fy % 1.0) < win_dy[bid][None, :]) & (fy >= 0) \
        & (fx >= 0.5) & has_win[bid][None, :]
    bfield = np.where(windows[..., None], win_col[bid][None, :, :], facade[bid][None, :, :])
    bfield = bfield + _smooth_noise(rng, H, W, 6 * s)[..., None] * 7.0
    _paint(img, label, building, BUILDING, bfield.astype(np.float32))

    # --- road: dark asphalt with fine grain, low-frequency wear and a dashed centre line
    road = yy >= horizon[None, :]
    asphalt = rng.uniform(70, 115)
    rfield = np.full((H, W, 3), asphalt, dtype=np.float32) + rng.uniform(-6, 6, 3).astype(np.float32)
    rfield += _smooth_noise(rng, H, W, 16 * s)[..., None] * 8.0
    if rng.random() < 0.7:
        vx = W * rng.uniform(0.35, 0.65)   # vanishing point on the horizon
        bxb = W * rng.uniform(0.3, 0.7)    # where the line leaves the image bottom
        depth = np.clip((yy - horizon_mid) / max(1.0, H - horizon_mid), 0, 1)  # 0 far .. 1 near
        line_x = vx + depth * (bxb - vx)
        half = 0.3 + depth * 2.0 * s
        dash = ((np.sqrt(depth) * 7.0 + rng.random()) % 1.0) < 0.55
        marking = (np.abs(xx - line_x) <= half) & dash & road
        rfield[marking] = rng.uniform(180, 230)
    _paint(img, label, road, ROAD, rfield)

    # --- vegetation: tree crowns with wobbly outlines and trunks, plus hedges at the horizon
    green = np.array([rng.uniform(35, 85), rng.uniform(95, 150), rng.uniform(25, 65)])
    vnoise = _smooth_noise(rng, H, W, 3.5 * s)[..., None] * 28.0 + _smooth_noise(rng, H, W, 10 * s)[..., None] * 12.0
    vfield = green + vnoise * np.array([0.8, 1.0, 0.7])
    trunk_col = np.array([85, 65, 45]) + rng.uniform(-15, 15)
    for _ in range(rng.integers(2, 5)):
        cx = rng.uniform(0, W)
        base = float(horizon[int(np.clip(cx, 0, W - 1))])
        rx = W * rng.uniform(0.06, 0.13)
        ry = H * rng.uniform(0.08, 0.17)
        cy = base - ry - H * rng.uniform(0.05, 0.15)
        # trunk first so the crown covers its top
        tw = max(1, int(round(W / 128 * rng.uniform(2, 4))))
        tx0 = int(np.clip(round(cx - tw / 2), 0, W - 1))
        ty0, ty1 = int(max(0, cy)), int(min(H, base + H * 0.02))
        if ty1 > ty0:
            tmask = np.ones((ty1 - ty0, min(W, tx0 + tw) - tx0), dtype=bool)
            _paint(img, label, tmask, VEGETATION,
                   np.broadcast_to(trunk_col, tmask.shape + (3,)).astype(np.float32)
                   + vnoise[ty0:ty1, tx0:tx0 + tmask.shape[1]] * 0.3, ty0, tx0)
        win = _window(cy, cx, ry * 1.3, rx * 1.3, H, W)
        if win is None:
            continue
        y0, y1, x0, x1 = win
        dy = (yy[y0:y1] - cy) / ry
        dx = (xx[:, x0:x1] - cx) / rx
        ang = np.arctan2(dy, dx)
        k = rng.integers(3, 8, 2)
        ph = rng.uniform(0, 2 * np.pi, 2)
        radius = 1.0 + 0.12 * np.sin(k[0] * ang + ph[0]) + 0.08 * np.sin(k[1] * ang + ph[1])
        crown = dy * dy + dx * dx <= radius * radius
        _paint(img, label, crown, VEGETATION, vfield[y0:y1, x0:x1], y0, x0)
    if rng.random() < 0.8:
        hx0 = int(W * rng.uniform(0, 0.6))
        hx1 = min(W, hx0 + int(W * rng.uniform(0.15, 0.45)))
        hh = H * rng.uniform(0.04, 0.1)
        wob = _smooth_noise(rng, 1, W, 5 * s)[0] * hh * 0.3
        hedge_top = horizon - hh + wob
        hedge = (yy >= hedge_top[None, :]) & (yy < horizon[None, :] + 0.01 * H) \
            & (xx >= hx0) & (xx < hx1)
        _paint(img, label, hedge, VEGETATION, vfield)

    # --- poles: 1-4 thin vertical bars standing at the road edge
    pole_tops = []
    for _ in range(rng.integers(1, 5)):
        pw = max(1, int(round(W / 128 * rng.uniform(0.8, 3.4))))
        px = int(rng.integers(0, max(1, W - pw)))
        base = float(horizon[min(W - 1, px)]) + H * rng.uniform(0.0, 0.1)
        ptop = base - H * rng.uniform(0.3, 0.55)
        y0, y1 = int(max(0, ptop)), int(min(H, base))
        if y1 <= y0:
            continue
        g = rng.uniform(90, 175)
        shade = np.linspace(1.15, 0.8, pw, dtype=np.float32)[None, :, None]
        pfield = (np.array([g, g, g * rng.uniform(0.95, 1.08)], dtype=np.float32) * shade
                  + np.zeros((y1 - y0, 1, 1), dtype=np.float32))
        pmask = np.ones((y1 - y0, min(W, px + pw) - px), dtype=bool)
        _paint(img, label, pmask, POLE, pfield[:, :pmask.shape[1]], y0, px)
        pole_tops.append((y0, px + pw / 2))

    # --- signs: 0-2 small plates, mostly on pole tops; sometimes green like foliage
    n_signs = int(rng.choice([0, 1, 1, 1, 2, 2]))
    for _ in range(n_signs):
        r = max(1.5, H * rng.uniform(0.035, 0.065))
        if pole_tops and rng.random() < 0.75:
            ty, tx = pole_tops[int(rng.integers(len(pole_tops)))]
            cy, cx = ty + r * 0.8, tx
        else:
            cx, cy = rng.uniform(r, W - r), H * rng.uniform(0.3, 0.6)
        win = _window(cy, cx, r, r, H, W)
        if win is None:
            continue
        y0, y1, x0, x1 = win
        dy = (yy[y0:y1] - cy) / r
        dx = (xx[:, x0:x1] - cx) / r
        shape = rng.integers(3)
        if shape == 0:      # round
            d = np.sqrt(dy * dy + dx * dx)
        elif shape == 1:    # rectangular
            d = np.maximum(np.abs(dy) * 1.2, np.abs(dx) * 0.85)
        else:               # inverted triangle (yield)
            d = np.maximum(-dy * 1.0, (dy * 0.5 + np.abs(dx) * 0.87) * 1.15)
        plate = d <= 1.0
        rim = d > 1.0 - max(0.18, 1.0 / r)
        colour = [np.array([200, 30, 35]), np.array([30, 70, 170]), np.array([230, 190, 30]),
                  green * rng.uniform(0.9, 1.3)][int(rng.choice(4, p=[0.35, 0.25, 0.15, 0.25]))]
        sfield = np.where(rim[..., None], np.array([225, 225, 220]), colour).astype(np.float32)
        _paint(img, label, plate, SIGN, sfield, y0, x0)

    # --- void: sometimes the ego vehicle's bonnet, plus small unlabelled patches
    if rng.random() < 0.3:
        hood_h = H * rng.uniform(0.03, 0.07)
        rx = W * rng.uniform(0.5, 0.8)
        cx = W * rng.uniform(0.4, 0.6)
        hood = ((xx - cx) / rx) ** 2 + ((yy - H) / hood_h) ** 2 <= 1.0
        hfield = (rng.uniform(15, 50) + (yy - (H - hood_h)) / max(1.0, hood_h) * 25)[..., None] \
            + np.zeros((1, W, 3), dtype=np.float32)
        _paint(img, label, hood, VOID, hfield)
    for _ in range(rng.integers(0, 3)):
        ph, pw = max(1, int(H * rng.uniform(0.03, 0.07))), max(1, int(W * rng.uniform(0.03, 0.07)))
        py, px = int(rng.integers(0, H - ph + 1)), int(rng.integers(0, W - pw + 1))
        pmask = np.ones((ph, pw), dtype=bool)
        _paint(img, label, pmask, VOID,
               np.broadcast_to(rng.uniform(0, 255, 3), (ph, pw, 3)).astype(np.float32), py, px)

    # --- camera: soft boundaries, per-class grain, exposure and white-balance jitter
    sigma = 0.7 * max(s, 0.5)
    img = cv2.GaussianBlur(img, (0, 0), sigmaX=sigma, sigmaY=sigma)
    grain = rng.standard_normal((H, W), dtype=np.float32) * _GRAIN[label]
    img += grain[..., None]
    gain = rng.uniform(0.7, 1.25) * rng.uniform(0.92, 1.08, 3)
    img = img * gain.astype(np.float32) + np.float32(rng.uniform(-12, 12))
    return np.clip(img + 0.5, 0, 255).astype(np.uint8), label


def _write_atomic(path: Path, data: bytes) -> None:
    """Readers (Snakemake, other jobs) must never see a half-written file."""
    tmp = path.with_name(f".{path.name}.tmp{os.getpid()}")
    with open(tmp, "wb") as f:
        f.write(data)
    os.replace(tmp, path)


def _png(arr: np.ndarray) -> bytes:
    ok, buf = cv2.imencode(".png", arr)
    if not ok:
        raise RuntimeError("PNG encoding failed")
    return buf.tobytes()


def scene_name(split: str, k: int) -> str:
    """File stem of image k of a split, e.g. pool_0007."""
    return f"{split}_{k:04d}"


def generate(out_dir, n_pool: int, n_val: int, height: int, width: int, seed: int) -> None:
    """Write the dataset; classes.json is written last, so its presence marks a complete dataset.

    Image k of a split depends only on (seed, split, k), so growing n_pool or
    n_val keeps the existing images unchanged.
    """
    out = Path(out_dir)
    (out / "images").mkdir(parents=True, exist_ok=True)
    (out / "labels").mkdir(parents=True, exist_ok=True)
    meta = out / "classes.json"
    meta.unlink(missing_ok=True)  # a stale marker must not vouch for a half-rewritten dataset
    counts = {"pool": int(n_pool), "val": int(n_val)}
    for split_index, split in enumerate(_SPLITS):
        names = []
        for k in range(counts[split]):
            name = scene_name(split, k)
            image, label = make_scene(np.random.default_rng([seed, split_index, k]), height, width)
            _write_atomic(out / "images" / f"{name}.png", _png(cv2.cvtColor(image, cv2.COLOR_RGB2BGR)))
            _write_atomic(out / "labels" / f"{name}.png", _png(label))
            names.append(name)
        _write_atomic(out / f"{split}.txt", "".join(n + "\n" for n in names).encode())
        log.info("wrote %d %s scenes of %dx%d to %s", len(names), split, height, width, out)
    info = {
        "classes": list(CLASSES),
        "palette": PALETTE.tolist(),
        "void": VOID,
        "generator": {"name": "asal.synthetic", "version": GENERATOR_VERSION, "seed": int(seed),
                      "n_pool": int(n_pool), "n_val": int(n_val),
                      "height": int(height), "width": int(width)},
    }
    _write_atomic(meta, (json.dumps(info, indent=2) + "\n").encode())
