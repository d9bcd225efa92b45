"""Adaptive merging AM(S0, theta) (eq. 2-3): join adjacent base superpixels whose mean
predicted class distributions are within a Jensen-Shannon distance epsilon.

Labelled base superpixels are frozen: they are never a seed, never absorbed and never a bridge
between two others. A merged region therefore never contains a superpixel already paid for,
and a query never pays twice for the same pixels.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np
from scipy.sparse import coo_matrix, csr_matrix
from scipy.sparse.csgraph import connected_components

MAX_JS_DISTANCE = float(np.sqrt(np.log(2.0)))


@dataclass(frozen=True)
class MergeSpec:
    mode: str = "greedy"  # greedy (the authors' procedure) | components | none
    epsilon: float = 0.1
    seeds: str = "all"  # all | top | bottom: which seeds may grow (the paper's Table 5)
    seed_fraction: float = 1.0  # share of seeds by uncertainty for top / bottom

    def __post_init__(self):
        if self.mode not in ("greedy", "components", "none"):
            raise ValueError(f"merge.mode {self.mode!r}: use greedy, components or none")
        if not 0.0 <= self.epsilon <= MAX_JS_DISTANCE:
            raise ValueError(f"merge.epsilon {self.epsilon}: a JS distance lies in "
                             f"[0, sqrt(ln 2) = {MAX_JS_DISTANCE:.4f}]")
        if self.seeds not in ("all", "top", "bottom"):
            raise ValueError(f"merge.seeds {self.seeds!r}: use all, top or bottom")
        if not 0.0 < self.seed_fraction <= 1.0:
            raise ValueError(f"merge.seed_fraction {self.seed_fraction}: must be in (0, 1]")

    def as_dict(self) -> dict:
        return asdict(self)


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


def _select_seeds(order: np.ndarray, spec: MergeSpec, eligible: np.ndarray) -> np.ndarray:
    order = order[eligible[order]]
    if spec.seeds == "all":
        return order
    k = int(np.ceil(spec.seed_fraction * len(order)))
    return order[:k] if spec.seeds == "top" else order[len(order) - k:]


def merge_greedy(mean_probs: np.ndarray, uncertainty: np.ndarray, edges: np.ndarray,
                 frozen: np.ndarray, spec: MergeSpec) -> np.ndarray:
    """The authors' greedy growth: each seed, most uncertain first, absorbs every unassigned
    superpixel reachable through unassigned ones whose distance *to the seed's mean* is below
    epsilon. Returns the seed id of every superpixel's region (its own id if unmerged).

    The seed loop is sequential by nature (a superpixel belongs to the first seed that reaches
    it); distances to a seed's direct neighbours come precomputed per edge.
    """
    n = len(uncertainty)
    region = np.arange(n)
    assigned = frozen.astype(bool).copy()
    live = edges[~(assigned[edges[:, 0]] | assigned[edges[:, 1]])] if len(edges) else edges
    graph = _csr(live, n)
    indptr, indices = graph.indptr, graph.indices
    # JS distance along every directed adjacency entry, aligned with `indices`.
    src = np.repeat(np.arange(n), np.diff(indptr))
    close = js_distance(mean_probs[src], mean_probs[indices]) < spec.epsilon
    for seed in _select_seeds(seed_order(uncertainty), spec, ~assigned):
        if assigned[seed]:
            continue
        assigned[seed] = True
        stack = [seed]
        while stack:
            v = stack.pop()
            lo, hi = indptr[v], indptr[v + 1]
            nbrs = indices[lo:hi]
            free = ~assigned[nbrs]
            if not free.any():
                continue
            if v == seed:
                take = nbrs[free & close[lo:hi]]
            else:
                cand = nbrs[free]
                take = cand[js_distance(mean_probs[seed][None, :], mean_probs[cand])
                            < spec.epsilon]
            assigned[take] = True
            region[take] = seed
            stack.extend(take.tolist())
    return region


def merge_components(mean_probs: np.ndarray, uncertainty: np.ndarray, edges: np.ndarray,
                     frozen: np.ndarray, spec: MergeSpec) -> np.ndarray:
    """Connected components of the graph of edges shorter than epsilon; each region is named
    after its most uncertain member (ties: lowest id), as a greedy seed would be."""
    n = len(uncertainty)
    frozen = frozen.astype(bool)
    if len(edges):
        keep = ~(frozen[edges[:, 0]] | frozen[edges[:, 1]])
        keep &= js_distance(mean_probs[edges[:, 0]], mean_probs[edges[:, 1]]) < spec.epsilon
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
                frozen: np.ndarray, spec: MergeSpec) -> np.ndarray:
    """Region (representative local id) of every base superpixel of one image."""
    if spec.mode == "none":
        return np.arange(len(uncertainty))
    if spec.mode == "greedy":
        return merge_greedy(mean_probs, uncertainty, edges, frozen, spec)
    return merge_components(mean_probs, uncertainty, edges, frozen, spec)
