"""Adaptive merging of ONE Cityscapes-sized image: asal against the authors' per-superpixel code.

    .venv/bin/python benchmarks/probes/merge_one_image.py            # 1024x2048, ~8192 superpixels
    .venv/bin/python benchmarks/probes/merge_one_image.py --quick    # 256x512, a few seconds

Input: one CamVid pool image (../shared/data/camvid, or --root) resized to 2048x1024 with cv2, or a
synthetic scene from asal.data.synthetic when CamVid is absent; base superpixels from asal's own
SEEDS (size 256, connected, dense ids). Class probabilities (19 classes, as on Cityscapes) are
made to look like a segmentation network's: a low-resolution random logit field, upsampled
(smooth in space), plus per-pixel noise, softmaxed; so that neighbouring superpixels often agree
and a good share of them merge at epsilon 0.1.

Baseline ("authors"): a re-implementation, written for this benchmark, of the procedure in the
official code of Kim et al. (ICCV 2023, scripts/gen_adaptive_spx.py of
ml-postech/adaptive-superpixel-for-active-learning-in-semantic-segmentation):
  * means: per superpixel, np.where(map == id) over the whole image, then the mean class
    probabilities and the mean u(x) = second best / best of its pixels;
  * graph: a networkx graph whose nodes carry each superpixel's first pixel (another np.where
    per superpixel), edges added by a Python loop over every horizontal and vertical boundary
    pixel pair;
  * merge: seeds by decreasing mean uncertainty (stable sort, so ties by ascending id), the
    already-merged ones kept in a Python list; each seed absorbs unassigned neighbours, grown
    depth-first through absorbed ones, whose JS distance to the SEED's mean is below epsilon;
    every absorption relabels the whole map with np.where (the absorbed id takes the seed's).
  Deviation, shared with asal on purpose so the two can agree bit for bit: the JS distance is
  computed in float64 with the divergence clipped at 0 (the authors' float32 scipy call gives NaN
  for near-identical means, which blocks such merges) and without scipy's renormalisation of
  the two rows (means of softmax outputs already sum to 1 up to rounding).

asal: superpixels.adjacency (run once per image at superpixelize time), statistics.
superpixel_statistics (written by the predict stage), merging.merge_image + a lookup relabel
(the merge stage). Three scopes are timed, best of 3 each:
  (a) per-round merge: merge_image on the stored graph + region[local_map];
  (b) (a) + building the graph from the map;
  (c) (b) + computing the statistics from the probabilities.
The first merge_image call of the process is made on a tiny input before any timing (and its
time printed), so that a compiled (JIT) kernel's compile time is not counted in (a)-(c).

The baseline runs once (about a minute or more at full size). Everything is printed and also
written to benchmarks/results/merge_one_image.txt (merge_one_image_quick.txt with --quick).
"""

from __future__ import annotations

import argparse
import os
import platform
import subprocess
import sys
import time
from pathlib import Path

import cv2
import networkx as nx
import numpy as np
from scipy.special import rel_entr

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "workflow"))

from asal.method import merging, statistics, superpixels

N_CLASSES = 19


# --------------------------------------------------------------------------------------------
# input
# --------------------------------------------------------------------------------------------

def load_image(root: Path, name: str | None, height: int, width: int) -> tuple[np.ndarray, str]:
    """RGB uint8 image of height x width: a CamVid pool image, or a synthetic scene."""
    listing = root / "train.txt"
    if listing.is_file():
        names = [line.split()[0] for line in listing.read_text().splitlines() if line.strip()]
        pick = name or names[0]
        path = root / "train" / Path(pick).name
        bgr = cv2.imread(str(path), cv2.IMREAD_COLOR)
        if bgr is None:
            raise SystemExit(f"cannot read {path}")
        rgb = cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB)
        src = f"CamVid {path.name} ({rgb.shape[1]}x{rgb.shape[0]})"
        rgb = cv2.resize(rgb, (width, height), interpolation=cv2.INTER_LINEAR)
        return rgb, src + f" resized to {width}x{height} (cv2 INTER_LINEAR)"
    from asal.data import synthetic
    image, _ = synthetic.make_scene(np.random.default_rng(0), height, width)
    return np.ascontiguousarray(image, dtype=np.uint8), \
        f"synthetic scene {width}x{height} (no CamVid at {root})"


def make_probs(rng: np.random.Generator, height: int, width: int, cell: int, scale: float,
               noise: float) -> np.ndarray:
    """(C, H, W) float32 class probabilities: softmax(upsampled low-res logits + pixel noise)."""
    gh, gw = max(2, height // cell), max(2, width // cell)
    low = (scale * rng.standard_normal((gh, gw, N_CLASSES))).astype(np.float32)
    logits = cv2.resize(low, (width, height), interpolation=cv2.INTER_CUBIC)
    logits += noise * rng.standard_normal(logits.shape, dtype=np.float32)
    logits -= logits.max(axis=2, keepdims=True)
    np.exp(logits, out=logits)
    logits /= logits.sum(axis=2, keepdims=True)
    return np.ascontiguousarray(logits.transpose(2, 0, 1))


# --------------------------------------------------------------------------------------------
# baseline: the authors' per-superpixel procedure
# --------------------------------------------------------------------------------------------

def authors_means(feature: np.ndarray, R: np.ndarray) -> dict:
    """{id: (mean class probabilities, pixel count, mean u(x))}, one np.where per superpixel."""
    ranked = np.sort(feature, axis=2)
    uncertainty = ranked[:, :, -2] / ranked[:, :, -1]
    region_feature = {}
    for index in np.unique(R):
        y, x = np.where(R == index)
        region_feature[index] = (np.mean(feature[y, x], axis=0), len(y),
                                 np.mean(uncertainty[y, x]))
    return region_feature


def authors_graph(R: np.ndarray) -> nx.Graph:
    """Region adjacency graph: nodes carry their first pixel, edges from a boundary-pixel loop."""
    G = nx.Graph()
    for index in np.unique(R):
        y, x = np.where(R == index)
        G.add_node(index, center=(y[0], x[0]))
    ys, xs = np.where(R[:, :-1] != R[:, 1:])
    for y, x in zip(ys, xs):
        u, v = R[y, x], R[y, x + 1]
        if (u, v) not in G.edges():
            G.add_edge(u, v)
    ys, xs = np.where(R[:-1, :] != R[1:, :])
    for y, x in zip(ys, xs):
        u, v = R[y, x], R[y + 1, x]
        if (u, v) not in G.edges():
            G.add_edge(u, v)
    return G


def js_pair(p: np.ndarray, q: np.ndarray) -> float:
    """JS distance of two distributions: float64, natural log, divergence clipped at 0."""
    m = 0.5 * (p + q)
    divergence = 0.5 * (np.sum(rel_entr(p, m)) + np.sum(rel_entr(q, m)))
    return float(np.sqrt(max(divergence, 0.0)))


def authors_merge(G: nx.Graph, R: np.ndarray, region_feature: dict, eps: float) -> np.ndarray:
    """Greedy growth from the most uncertain seeds; the map relabelled with np.where per merge."""
    order = sorted(region_feature, key=lambda k: -region_feature[k][2])  # stable: ties by id
    merged = []  # a Python list, as in the original
    for seed in order:
        if seed in merged:
            continue
        merged.append(seed)
        seed_mean = region_feature[seed][0]
        stack = [seed]
        while stack:
            node = stack.pop()
            for v in G.neighbors(node):
                if v in merged:
                    continue
                keep_id = R[G.nodes[node]["center"]]  # the seed's id by now
                old_id = R[G.nodes[v]["center"]]
                if keep_id != old_id and js_pair(seed_mean, region_feature[v][0]) < eps:
                    R = np.where(R == old_id, keep_id, R)
                    merged.append(v)
                    stack.append(v)
    return R


# --------------------------------------------------------------------------------------------
# asal
# --------------------------------------------------------------------------------------------

def asal_means(probs: np.ndarray, local_map: np.ndarray, n: int):
    stats = statistics.superpixel_statistics(probs, local_map, n)
    count = np.maximum(stats["count"], 1)[:, None]
    return stats["prob_sum"] / count, stats["u_sum"] / count[:, 0]


def asal_merge(mean_probs, uncertainty, edges, local_map, spec):
    frozen = np.zeros(len(uncertainty), dtype=bool)
    region = merging.merge_image(mean_probs, uncertainty, edges, frozen, spec)
    return region[local_map]


REPEATS = 3


def best_of(fn, repeats: int | None = None):
    repeats = repeats or REPEATS
    times, out = [], None
    for _ in range(repeats):
        t0 = time.perf_counter()
        out = fn()
        times.append(time.perf_counter() - t0)
    return min(times), out


def fmt_s(t: float) -> str:
    if t >= 1.0:
        return f"{t:9.2f} s "
    if t >= 1e-3:
        return f"{t * 1e3:9.2f} ms"
    return f"{t * 1e6:9.1f} us"


def provenance() -> str:
    try:
        commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT,
                                capture_output=True, text=True).stdout.strip()
        files = [f"workflow/asal/{m}.py" for m in ("merging", "statistics", "superpixels")]
        dirty = subprocess.run(["git", "status", "--porcelain", "--", *files], cwd=ROOT,
                               capture_output=True, text=True).stdout.split("\n")
    except OSError:
        return "git: unavailable"
    changed = [Path(line.split()[-1]).name for line in dirty if line.strip()]
    return f"asal at {commit or '?'}" + (f" ({', '.join(changed)} modified in the working tree)"
                                         if changed else "")


# --------------------------------------------------------------------------------------------

def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="256x512 image instead of 1024x2048")
    ap.add_argument("--root", default=str(ROOT.parent / "shared" / "data" / "camvid"))
    ap.add_argument("--image", default=None, help="CamVid pool image name (default: first)")
    ap.add_argument("--size", type=int, default=256, help="target superpixel area, px")
    ap.add_argument("--epsilon", type=float, default=0.1)
    ap.add_argument("--cell", type=int, default=128, help="pixels per cell of the logit field")
    ap.add_argument("--scale", type=float, default=4.0, help="std of the low-res logits")
    ap.add_argument("--noise", type=float, default=0.5, help="std of the per-pixel logit noise")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--repeats", type=int, default=3, help="best of this many for asal's parts")
    ap.add_argument("--out", default=None, help="where to write the printed output")
    args = ap.parse_args()
    global REPEATS
    REPEATS = max(1, args.repeats)

    height, width = (256, 512) if args.quick else (1024, 2048)
    out_path = Path(args.out) if args.out else (
        ROOT / "benchmarks" / "results" /
        ("merge_one_image_quick.txt" if args.quick else "merge_one_image.txt"))
    lines: list[str] = []

    def say(text: str = "") -> None:
        print(text, flush=True)
        lines.append(text)

    say("Adaptive merging of one image: asal vs the authors' per-superpixel procedure")
    say(f"{provenance()}; python {platform.python_version()}, numpy {np.__version__}, "
        f"networkx {nx.__version__}, {os.cpu_count()} CPUs, "
        f"load average {os.getloadavg()[0]:.2f} at start")

    # ---- input ------------------------------------------------------------------------------
    image, src = load_image(Path(args.root), args.image, height, width)
    spec_sp = superpixels.SeedsSpec(size=args.size)
    t0 = time.perf_counter()
    local_map = superpixels.superpixelize_image(image, spec_sp)
    t_seeds = time.perf_counter() - t0
    n = int(local_map.max()) + 1
    request, grid = spec_sp.seeds_request(height, width)
    probs = make_probs(np.random.default_rng(args.seed), height, width, args.cell, args.scale,
                       args.noise)
    spec = merging.MergeSpec(mode="greedy", epsilon=args.epsilon)
    say(f"image: {src}")
    say(f"superpixels: SEEDS size {args.size} (asked {request}, grid {grid}) -> {n} connected "
        f"base superpixels, mean {height * width / n:.1f} px ({t_seeds:.1f} s, not timed below)")
    say(f"probabilities: {N_CLASSES} classes, softmax(cubic-upsampled N(0,{args.scale}^2) logits "
        f"on a {args.cell}-px grid + N(0,{args.noise}^2) pixel noise), seed {args.seed}")
    say(f"merge: greedy, epsilon {args.epsilon}, nothing frozen")

    # ---- asal: warm-up, then best of 3 ---------------------------------------------------
    tiny_mean = np.full((4, N_CLASSES), 1.0 / N_CLASSES)
    tiny_edges = np.array([[0, 1], [1, 2], [2, 3]], dtype=np.int64)
    t0 = time.perf_counter()
    merging.merge_image(tiny_mean, np.arange(4.0), tiny_edges, np.zeros(4, bool), spec)
    t_warm = time.perf_counter() - t0

    mean_probs, uncertainty = asal_means(probs, local_map, n)
    edges = superpixels.adjacency(local_map)
    merged_asal = asal_merge(mean_probs, uncertainty, edges, local_map, spec)  # warm caches

    t_a, merged_asal = best_of(lambda: asal_merge(mean_probs, uncertainty, edges, local_map, spec))
    t_b, _ = best_of(lambda: asal_merge(mean_probs, uncertainty,
                                        superpixels.adjacency(local_map), local_map, spec))
    t_c, _ = best_of(lambda: asal_merge(*asal_means(probs, local_map, n),
                                        superpixels.adjacency(local_map), local_map, spec))
    t_merge_only, _ = best_of(lambda: merging.merge_image(mean_probs, uncertainty, edges,
                                                          np.zeros(n, bool), spec))
    t_relabel, _ = best_of(lambda: np.arange(n)[local_map])
    t_adj, _ = best_of(lambda: superpixels.adjacency(local_map))
    t_stats, _ = best_of(lambda: asal_means(probs, local_map, n))

    # ---- baseline: once ---------------------------------------------------------------------
    say("running the authors' procedure once (about a minute or more at full size) ...")
    feature = probs.transpose(1, 2, 0).astype(np.float64)  # their (H, W, C) layout
    R = local_map.copy()
    t0 = time.perf_counter()
    region_feature = authors_means(feature, R)
    t1 = time.perf_counter()
    G = authors_graph(R)
    t2 = time.perf_counter()
    merged_base = authors_merge(G, R, region_feature, args.epsilon)
    t3 = time.perf_counter()
    b_means, b_graph, b_merge, b_total = t1 - t0, t2 - t1, t3 - t2, t3 - t0

    # ---- agreement --------------------------------------------------------------------------
    identical = bool(np.array_equal(merged_base, merged_asal))
    n_regions = len(np.unique(merged_asal))
    merged_away = n - n_regions
    absorbed = int((np.arange(n) != merging.merge_image(mean_probs, uncertainty, edges,
                                                         np.zeros(n, bool), spec)).sum())
    edge_js = merging.js_distance(mean_probs[edges[:, 0]], mean_probs[edges[:, 1]])
    near = int((np.abs(edge_js - args.epsilon) < 1e-9).sum())
    # The predict stage stores prob_sum as float32: does that rounding change this merge?
    stats = statistics.superpixel_statistics(probs, local_map, n)
    count = np.maximum(stats["count"], 1)[:, None]
    mean32 = stats["prob_sum"].astype(np.float32) / count
    region32 = merging.merge_image(mean32, stats["u_sum"] / count[:, 0], edges,
                                   np.zeros(n, bool), spec)
    same_as_stored = bool(np.array_equal(region32[local_map], merged_asal))
    same_edges = G.number_of_edges() == len(edges) and all(
        G.has_edge(int(a), int(b)) for a, b in edges)

    say()
    say(f"graph: {len(edges)} edges (authors' graph has {G.number_of_edges()}, "
        f"same edge set: {same_edges}); {(edge_js < args.epsilon).mean():.1%} of edges "
        f"have JS distance < {args.epsilon}, {near} within 1e-9 of it")
    say(f"result: {n} base superpixels -> {n_regions} regions ({absorbed} absorbed into a "
        f"seed, {merged_away / n:.1%} fewer; largest region "
        f"{np.bincount(np.unique(merged_asal, return_inverse=True)[1].ravel()).max()} px)")
    say(f"merged maps identical: {identical}")
    say(f"(with prob_sum rounded to float32, as the predict stage stores it, asal's map is "
        f"unchanged: {same_as_stored})")
    say()
    say(f"first merge_image call in this process (tiny input, any JIT compile): {fmt_s(t_warm)}"
        " (excluded)")
    say()
    w = 58
    say("The merge stage does (a) each round; asal builds the graph once per image at")
    say("superpixelize time and the statistics in the predict stage's forward pass; the")
    say("authors' code redoes all three per image per round.")
    say()
    say(f"{'step':<{w}}{'time':>12}")
    say("-" * (w + 12))
    say(f"asal (best of {REPEATS})")
    say(f"{'  merge_image on the stored graph':<{w}}{fmt_s(t_merge_only):>12}")
    say(f"{'  relabel region[local_map]':<{w}}{fmt_s(t_relabel):>12}")
    say(f"{'  adjacency(local_map)':<{w}}{fmt_s(t_adj):>12}")
    say(f"{'  superpixel_statistics + means':<{w}}{fmt_s(t_stats):>12}")
    say(f"{'  (a) per-round merge: merge_image + relabel':<{w}}{fmt_s(t_a):>12}")
    say(f"{'  (b) (a) + adjacency from the map':<{w}}{fmt_s(t_b):>12}")
    say(f"{'  (c) (b) + statistics from the probabilities':<{w}}{fmt_s(t_c):>12}")
    say("authors' procedure (one run)")
    say(f"{'  means: np.where per superpixel':<{w}}{fmt_s(b_means):>12}")
    say(f"{'  graph: np.where per superpixel + boundary-pixel loop':<{w}}{fmt_s(b_graph):>12}")
    say(f"{'  merge + np.where relabel per absorption':<{w}}{fmt_s(b_merge):>12}")
    say(f"{'  total':<{w}}{fmt_s(b_total):>12}")
    say()
    say("speedups (same run)")
    rows = [
        ("authors' total / (a) per-round merge", b_total / t_a),
        ("authors' total / (b) merge + graph", b_total / t_b),
        ("authors' total / (c) merge + graph + statistics", b_total / t_c),
        ("authors' merge+relabel / (a)", b_merge / t_a),
        ("authors' graph / asal adjacency", b_graph / t_adj),
        ("authors' means / asal statistics + means", b_means / t_stats),
    ]
    for label, ratio in rows:
        say(f"{'  ' + label:<{w}}{ratio:>10.0f} x")
    say()
    say(f"identical: {identical}")

    out_path.parent.mkdir(parents=True, exist_ok=True)
    out_path.write_text("\n".join(lines) + "\n")
    print(f"(written to {out_path.relative_to(ROOT) if out_path.is_relative_to(ROOT) else out_path})")
    assert identical, "asal's merged map differs from the authors' procedure"


if __name__ == "__main__":
    main()
