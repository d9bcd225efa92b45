"""Adaptive merging AM(S0, theta) (eq. 2-3): join adjacent base superpixels whose mean
predicted class distributions are within a Jensen-Shannon distance epsilon.

Labelled base superpixels are frozen: they are never a seed, never absorbed and never a bridge
between two others. A merged region therefore never contains a superpixel already paid for,
and a query never pays twice for the same pixels.
"""

from __future__ import annotations

import functools
from dataclasses import asdict, dataclass

import numba
import numpy as np
from scipy.sparse import coo_matrix, csr_matrix
from scipy.sparse.csgraph import connected_components

from ..experiment.extensions import is_reference, resolve
from ..experiment.settings import defaults

MAX_JS_DISTANCE = float(np.sqrt(np.log(2.0)))


_DEFAULTS = defaults("merge")
MODES = ("greedy", "components", "none")  # greedy: the authors' procedure
SEED_CHOICES = ("all", "top", "bottom")  # which seeds may grow (the paper's Table 5)


@dataclass(frozen=True)
class MergeSpec:
    """Merging settings (config `merge`; defaults from the schema)."""

    mode: str = _DEFAULTS["mode"]
    epsilon: float = _DEFAULTS["epsilon"]
    seeds: str = _DEFAULTS["seeds"]
    seed_fraction: float = _DEFAULTS["seed_fraction"]  # share of seeds for top / bottom
    # Beyond the paper: only superpixels the model is sure of (mean u(x) at most this) merge;
    # the others stay base superpixels. 1.0, the largest u, lets every superpixel merge.
    max_uncertainty: float = _DEFAULTS["max_uncertainty"]
    # js (eq. 2-3), or a distance of the user's own: module:function (asal.experiment.extensions)
    criterion: str = _DEFAULTS["criterion"]

    def __post_init__(self):
        if self.criterion not in BUILTIN_CRITERIA and not is_reference(self.criterion):
            resolve(self.criterion, BUILTIN_CRITERIA, "merge.criterion")
        if self.mode not in MODES:
            raise ValueError(f"merge.mode {self.mode!r}: use one of {MODES}")
        if self.criterion == "js" and not 0.0 <= self.epsilon <= MAX_JS_DISTANCE:
            raise ValueError(f"merge.epsilon {self.epsilon}: a JS distance lies in "
                             f"[0, sqrt(ln 2) = {MAX_JS_DISTANCE:.4f}]")
        if self.seeds not in SEED_CHOICES:
            raise ValueError(f"merge.seeds {self.seeds!r}: use one of {SEED_CHOICES}")
        if not 0.0 < self.seed_fraction <= 1.0:
            raise ValueError(f"merge.seed_fraction {self.seed_fraction}: must be in (0, 1]")
        if not 0.0 <= self.max_uncertainty <= 1.0:
            raise ValueError(f"merge.max_uncertainty {self.max_uncertainty}: u(s) lies in "
                             "[0, 1]")

    @property
    def distance(self):
        """The compiled distance f(p, q) of two mean class distributions (compiled once per
        process); a plain Python function of the user's is compiled with numba (it must be
        numba-compilable)."""
        return compiled_criterion(self.criterion)

    def as_dict(self) -> dict:
        return asdict(self)


@functools.lru_cache(maxsize=None)
def compiled_criterion(name: str):
    fn = resolve(name, BUILTIN_CRITERIA, "merge.criterion")
    return fn if hasattr(fn, "py_func") else numba.njit(fn)


def js_distance(p: np.ndarray, q: np.ndarray) -> np.ndarray:
    """sqrt of the Jensen-Shannon divergence (natural log) between rows of p and q.

    Float64 with the divergence clipped at 0: the authors' float32 version returns NaN for
    near-identical rows, which then blocks a merge that should happen.
    """
    p = np.asarray(p, dtype=np.float64)
    q = np.asarray(q, dtype=np.float64)
    m = 0.5 * (p + q)

    def kl(a, b):
        with np.errstate(divide="ignore", invalid="ignore"):
            terms = np.where(a > 0, a * np.log(a / np.where(b > 0, b, 1.0)), 0.0)
        return terms.sum(axis=-1)

    divergence = 0.5 * (kl(p, m) + kl(q, m))
    return np.sqrt(np.maximum(divergence, 0.0))


def seed_order(uncertainty: np.ndarray) -> np.ndarray:
    """Seeds by decreasing mean uncertainty, ties by ascending id."""
    ids = np.arange(len(uncertainty))
    return np.lexsort((ids, -uncertainty))


def _csr(edges: np.ndarray, n: int) -> csr_matrix:
    rows = np.concatenate([edges[:, 0], edges[:, 1]])
    cols = np.concatenate([edges[:, 1], edges[:, 0]])
    return coo_matrix((np.ones(len(rows), dtype=np.int8), (rows, cols)), shape=(n, n)).tocsr()


def _select_seeds(order: np.ndarray, spec: MergeSpec, eligible: np.ndarray,
                  image: np.ndarray | None = None) -> np.ndarray:
    """Seeds allowed to grow, in seed order. With `image` (the image of every superpixel of
    a block of several images) the top / bottom fraction is taken within each image."""
    order = order[eligible[order]]
    if spec.seeds == "all":
        return order
    img = np.zeros(len(order), np.int64) if image is None else np.asarray(image)[order]
    n_img = np.bincount(img) if len(img) else np.zeros(0, np.int64)
    by_img = np.argsort(img, kind="stable")  # keeps seed order within each image
    start = np.concatenate([[0], np.cumsum(n_img)[:-1]]).astype(np.int64)
    rank = np.empty(len(order), np.int64)
    rank[by_img] = np.arange(len(order)) - start[img[by_img]]
    k = np.ceil(spec.seed_fraction * n_img).astype(np.int64)
    keep = rank < k[img] if spec.seeds == "top" else rank >= (n_img - k)[img]
    return order[keep]


@numba.njit(cache=True)
def _js_rows(probs, a, b):
    """js_distance of rows a and b, the same sums in float64 (compiled)."""
    total = 0.0
    for c in range(probs.shape[1]):
        p = probs[a, c]
        q = probs[b, c]
        m = 0.5 * (p + q)
        if p > 0:
            total += 0.5 * p * np.log(p / m)
        if q > 0:
            total += 0.5 * q * np.log(q / m)
    return np.sqrt(max(total, 0.0))


@numba.njit(cache=True)
def js_pair(p, q):
    """The JS distance of two rows (eq. 2-3), as `_js_rows`: the built-in criterion "js" in
    the form a criterion of the user's takes, f(p, q) -> float."""
    total = 0.0
    for c in range(p.shape[0]):
        m = 0.5 * (p[c] + q[c])
        if p[c] > 0:
            total += 0.5 * p[c] * np.log(p[c] / m)
        if q[c] > 0:
            total += 0.5 * q[c] * np.log(q[c] / m)
    return np.sqrt(max(total, 0.0))


BUILTIN_CRITERIA = {"js": js_pair}


@numba.njit
def _grow_by(seeds, indptr, indices, probs, epsilon, assigned, region, distance):
    """_grow with another criterion: `distance` of the seed's mean and a neighbour's."""
    stack = np.empty(len(region), np.int64)
    for seed in seeds:
        if assigned[seed]:
            continue
        assigned[seed] = True
        stack[0] = seed
        top = 1
        while top > 0:
            top -= 1
            v = stack[top]
            for e in range(indptr[v], indptr[v + 1]):
                w = indices[e]
                if not assigned[w] and distance(probs[seed], probs[w]) < epsilon:
                    assigned[w] = True
                    region[w] = seed
                    stack[top] = w
                    top += 1


@numba.njit
def _edges_by(probs, a, b, distance):
    out = np.empty(len(a))
    for k in range(len(a)):
        out[k] = distance(probs[a[k]], probs[b[k]])
    return out


@numba.njit(cache=True)
def _js_edges(probs, a, b):
    out = np.empty(len(a))
    for k in range(len(a)):
        out[k] = _js_rows(probs, a[k], b[k])
    return out


@numba.njit(cache=True)
def _grow(seeds, indptr, indices, probs, epsilon, assigned, region):
    """Each seed in turn takes every unassigned superpixel reachable through unassigned ones
    within epsilon of the seed's own mean (the set does not depend on the visiting order)."""
    stack = np.empty(len(region), np.int64)
    for seed in seeds:
        if assigned[seed]:
            continue
        assigned[seed] = True
        stack[0] = seed
        top = 1
        while top > 0:
            top -= 1
            v = stack[top]
            for e in range(indptr[v], indptr[v + 1]):
                w = indices[e]
                if not assigned[w] and _js_rows(probs, seed, w) < epsilon:
                    assigned[w] = True
                    region[w] = seed
                    stack[top] = w
                    top += 1


def merge_greedy(mean_probs: np.ndarray, uncertainty: np.ndarray, edges: np.ndarray,
                 frozen: np.ndarray, spec: MergeSpec, image: np.ndarray | None = None
                 ) -> np.ndarray:
    """The authors' greedy growth: each seed, most uncertain first, absorbs every unassigned
    superpixel reachable through unassigned ones whose distance *to the seed's mean* is below
    epsilon. Returns the seed id of every superpixel's region (its own id if unmerged).

    The seed loop is sequential by nature (a superpixel belongs to the first seed that reaches
    it), so it runs compiled. Several images may go in one call (edges never cross images;
    `image` names each superpixel's image for partial seeding).
    """
    n = len(uncertainty)
    region = np.arange(n, dtype=np.int64)
    assigned = frozen.astype(bool).copy()
    live = edges[~(assigned[edges[:, 0]] | assigned[edges[:, 1]])] if len(edges) else edges
    graph = _csr(np.asarray(live, np.int64).reshape(-1, 2), n)
    seeds = _select_seeds(seed_order(uncertainty), spec, ~assigned, image).astype(np.int64)
    args = (seeds, graph.indptr.astype(np.int64), graph.indices.astype(np.int64),
            np.ascontiguousarray(mean_probs, dtype=np.float64), float(spec.epsilon),
            assigned, region)
    if spec.criterion == "js":
        _grow(*args)  # compiled once and cached
    else:
        _grow_by(*args, spec.distance)
    return region


def merge_components(mean_probs: np.ndarray, uncertainty: np.ndarray, edges: np.ndarray,
                     frozen: np.ndarray, spec: MergeSpec, image: np.ndarray | None = None
                     ) -> np.ndarray:
    """Connected components of the graph of edges shorter than epsilon; each region is named
    after its most uncertain member (ties: lowest id), as a greedy seed would be."""
    n = len(uncertainty)
    frozen = frozen.astype(bool)
    if len(edges):
        keep = ~(frozen[edges[:, 0]] | frozen[edges[:, 1]])
        # Compiled, row by row: no (edges x classes) temporaries on a block of many images.
        probs = np.ascontiguousarray(mean_probs, dtype=np.float64)
        a, b = edges[:, 0].astype(np.int64), edges[:, 1].astype(np.int64)
        distance = (_js_edges(probs, a, b) if spec.criterion == "js"
                    else _edges_by(probs, a, b, spec.distance))
        keep &= distance < spec.epsilon
        edges = edges[keep]
    graph = coo_matrix((np.ones(len(edges), dtype=np.int8), (edges[:, 0], edges[:, 1])),
                       shape=(n, n))
    _, comp = connected_components(graph, directed=False)
    order = seed_order(uncertainty)  # first member of each component in seed order names it
    rep = np.full(comp.max() + 1, -1)
    first = np.unique(comp[order], return_index=True)[1]
    rep[comp[order][first]] = order[first]
    return rep[comp]


def merge_image(mean_probs: np.ndarray, uncertainty: np.ndarray, edges: np.ndarray,
                frozen: np.ndarray, spec: MergeSpec, image: np.ndarray | None = None
                ) -> np.ndarray:
    """Region (representative id) of every base superpixel of one image, or of a block of
    images whose superpixels are numbered together (`image`: each one's image)."""
    if spec.mode == "none":
        return np.arange(len(uncertainty))
    if spec.max_uncertainty < 1.0:  # unsure superpixels neither grow, join nor bridge
        frozen = np.asarray(frozen, bool) | (np.asarray(uncertainty) > spec.max_uncertainty)
    if spec.mode == "greedy":
        return merge_greedy(mean_probs, uncertainty, edges, frozen, spec, image)
    return merge_components(mean_probs, uncertainty, edges, frozen, spec, image)
