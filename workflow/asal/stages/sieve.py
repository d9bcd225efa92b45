"""Rule sieve: drop the labelled pixels where theta_{t-1} doubts the oracle's label (eq. 8-9,
the Kneedle knee of each region's confidences). A multi-class answer is sieved within its set:
the confidence of a pixel is the probability theta_{t-1} gives the set."""

from __future__ import annotations

import logging

import numpy as np

from ..data.datasets import dataset_from
from ..method import sieving
from ..method.answers import members
from ..progress import Progress
from ..store import artifacts
from ..store.artifacts import provenance
from .arguments import add_dataset, add_device, add_features, add_inputs, add_spec, run_stage

log = logging.getLogger(__name__)

HELP = "drop doubtful labelled pixels (Kneedle)"


def add_arguments(p) -> None:
    add_dataset(p)
    add_spec(p, sieving.SieveSpec)
    add_inputs(p, "--superpixels", "--labelled", "--out")
    p.add_argument("--model", default=None, help="theta_{t-1}; none in round 0")
    p.add_argument("--previous", default=None, help="previous round's sieved labels")
    add_features(p)
    p.add_argument("--round", type=int, required=True)
    add_device(p)


def main(args) -> dict:
    return run_stage(sieve, args)


def sieve(*, dataset: dict, superpixels: str, labelled: str, model: str | None,
          previous: str | None, spec: sieving.SieveSpec, round: int, out: str,
          device: str = "auto", threads: int = 0, batch_size: int = 8,
          features: str | None = None) -> dict:
    """Labelled pixels of every queried region, each kept or sieved out (eq. 8-9).

    Without a model (round 0) every pixel of a non-void region is kept. `previous` (the
    previous round's sieved labels) is read with sieve scope "new" only.
    """
    ds = dataset_from(dataset)
    sp_path, model_path = superpixels, model
    with_sets = artifacts.has_datasets(labelled, ("label_set",))
    state, lattrs = artifacts.read_table(labelled, "query", ("label", "query", "round")
                                         + (("label_set",) if with_sets else ()))
    void_label = int(lattrs["void_label"])
    model = None
    if model_path is not None and spec.active:
        from ..learning.inference import Predictor, torch_setup

        model = Predictor(model_path, ds, torch_setup(threads, device), features,
                          batch_size)
    reuse = {}
    if spec.scope == "new" and previous is not None:
        prev, _ = artifacts.read_table(previous, "sieve")
        reuse = {"pixel": prev["pixel"], "kept": prev["kept"]}
    n_q = int(state["query"].max()) + 1 if (state["query"] >= 0).any() else 0
    q_round = np.full(n_q, -1)
    q_round[state["query"][state["query"] >= 0]] = state["round"][state["query"] >= 0]
    with artifacts.open_superpixels(sp_path) as sp:
        spec = spec.for_superpixels(sp.attrs)
        useful = (state["label"] >= 0) & (state["label"] != void_label)
        images = np.unique(sp.image_of()[useful])
        pixels, labels, queries, sets = [], [], [], []
        for i in images:
            gid = sp.sp_offset[i] + sp.local_map(i).ravel()
            lab = state["label"][gid]
            inside = np.flatnonzero((lab >= 0) & (lab != void_label))
            pixels.append(sp.pixel_offset[i] + inside)
            labels.append(lab[inside])
            queries.append(state["query"][gid[inside]])
            if with_sets:
                sets.append(state["label_set"][gid[inside]])
        pixel = np.concatenate(pixels) if pixels else np.zeros(0, np.int64)
        label = np.concatenate(labels).astype(np.uint8) if labels else np.zeros(0, np.uint8)
        qid = np.concatenate(queries).astype(np.int64) if queries else np.zeros(0, np.int64)
        label_set = (np.concatenate(sets).astype(np.int64) if sets else
                     np.zeros(0, np.int64)) if with_sets else None
        # The model is run only where a confidence can matter: regions large enough to be
        # sieved (smaller ones are kept whole) and not keeping an earlier decision.
        size = np.bincount(qid, minlength=n_q)
        judged = size >= spec.min_size
        if reuse:
            judged &= q_round >= round
        conf = np.full(len(pixel), np.nan)
        if model is not None:
            starts = np.concatenate([[0], np.cumsum([len(p) for p in pixels])])
            need = [k for k in range(len(images)) if judged[queries[k]].any()]
            log.info("sieve: running the model on %d of the %d labelled images (the others "
                     "hold only regions under %d px or decided earlier)", len(need),
                     len(images), spec.min_size)
            progress = Progress("sieve: model", len(need))
            stream = model.probs(sp.names[images[k]] for k in need)
            for done, (k, probs) in enumerate(zip(need, stream), start=1):
                flat = probs.reshape(probs.shape[0], -1)
                local = pixels[k] - sp.pixel_offset[images[k]]
                if with_sets:  # the probability of the set the oracle named (eq. 8 on sets)
                    allowed = members(sets[k], flat.shape[0])
                    conf[starts[k]:starts[k + 1]] = (flat[:, local].T * allowed).sum(axis=1)
                else:
                    conf[starts[k]:starts[k + 1]] = flat[labels[k], local]
                progress(done)
    thresholds = np.full(n_q, -np.inf)
    if model is None:
        kept = np.ones(len(pixel), bool)
    else:
        model.close()
        kept, thresholds = sieving.sieve_regions(conf, qid, n_q, spec)
        if reuse:  # scope "new": earlier rounds' regions keep their earlier decision
            old = q_round[qid] < round
            pos = np.searchsorted(reuse["pixel"], pixel[old])
            kept[old] = reuse["kept"][np.clip(pos, 0, len(reuse["kept"]) - 1)]
    log.info("sieve: %d labelled pixels in %d regions, kept %d (%.1f%%)", len(pixel), n_q,
             int(kept.sum()), 100 * kept.mean() if len(kept) else 0)
    attrs = provenance("sieve", spec.as_dict(), superpixel_spec=lattrs["superpixel_spec"],
                       classes=lattrs["classes"], round=round,
                       knee_search=sieving.KNEE_SEARCH, model=str(model_path))
    arrays = {"pixel": pixel, "label": label, "query": qid, "kept": kept, "confidence": conf,
              "threshold": thresholds}
    if with_sets:  # the classes allowed at each pixel (a partial label), as bit masks
        arrays["label_set"] = label_set
    artifacts.write_table(out, "sieve", arrays, attrs)
    return arrays
