"""`asal export-labels` (a command, not a rule): a round's labels as mask files another tool
reads, in the layout of asal's own `folder` adapter: images/NAME.png, labels/NAME.png (class
index, 255 where unlabelled), classes.json and pool.txt. What the clicks bought, taken out.

By default every labelled pixel of the round's labelled set (all rounds so far); with
--sieved, only the pixels sieving kept (what theta_t trained on). A multi-class answer gives
its pixels the `label` column's class: the most frequent class named by the simulated oracle,
the first one picked by a person; its whole set is in the labelled set's `label_set` column. Images are written at the pool's working size (the
dataset's resize or size), the size the labels were made at.
"""

from __future__ import annotations

import json
import logging
from pathlib import Path

import numpy as np

from ..progress import Progress

log = logging.getLogger(__name__)

HELP = "write a round's labels as class-index PNG masks (the folder adapter's layout)"
UNLABELLED = 255


def add_arguments(p) -> None:
    p.add_argument("--config", nargs="+", required=True,
                   help="the experiment's config (config.yaml, then any --configfile)")
    p.add_argument("--method", required=True)
    p.add_argument("--trial", type=int, default=0)
    p.add_argument("--round", type=int, required=True)
    p.add_argument("--out", required=True, help="folder to write the dataset into")
    p.add_argument("--sieved", action="store_true",
                   help="only the pixels sieving kept (default: every labelled pixel)")


def main(args) -> dict:
    from ..experiment.config import dataset_settings, load_config
    from ..experiment.inputs import Inputs
    from ..experiment.methods import superpixel_kind
    from ..store import layout

    config = load_config(args.config)
    source = layout.source_method(args.method, args.round, superpixel_kind(config, args.method))
    inputs = Inputs(config)
    files = {kind: inputs.this_round(kind, source, args.trial, args.round)
             for kind in ("labelled", "sieved")}
    return export_labels(dataset=dataset_settings(config),
                         superpixels=inputs.superpixels_file(args.method),
                         labelled=files["labelled"], sieved=files["sieved"] if args.sieved
                         else None, out=args.out)


def label_maps(sp, labelled: dict, void_label: int, sieved: dict | None = None) -> dict:
    """Per pool image with a label: its (H, W) uint8 class-index map, 255 unlabelled (void
    answers included). From the labelled set, or from the sieved pixels that were kept."""
    maps = {}
    if sieved is not None:
        keep = np.asarray(sieved["kept"], bool)
        pixel, label = np.asarray(sieved["pixel"])[keep], np.asarray(sieved["label"])[keep]
        image = np.searchsorted(sp.pixel_offset, pixel, side="right") - 1
        for i in np.unique(image):
            h, w = sp.shapes[i]
            t = np.full(h * w, UNLABELLED, np.uint8)
            sel = image == i
            t[pixel[sel] - sp.pixel_offset[i]] = label[sel]
            maps[int(i)] = t.reshape(h, w)
        return maps
    label = np.asarray(labelled["label"]).astype(np.int64)
    useful = (label >= 0) & (label != void_label)
    for i in np.unique(sp.image_of()[useful]):
        ids = sp.sp_offset[i] + sp.local_map(int(i))
        lab = label[ids]
        maps[int(i)] = np.where((lab >= 0) & (lab != void_label), lab, UNLABELLED).astype(
            np.uint8)
    return maps


def export_labels(*, dataset: dict, superpixels: str, labelled: str, out: str,
                  sieved: str | None = None) -> dict:
    from .. import __version__
    from ..data.datasets import dataset_from
    from ..store import artifacts

    ds = dataset_from(dataset)
    state, attrs = artifacts.read_table(labelled, "query", ("label",))
    kept = None
    if sieved is not None:
        kept, _ = artifacts.read_table(sieved, "sieve", ("pixel", "label", "kept"))
    out_dir = Path(out)
    with artifacts.open_superpixels(superpixels) as sp:
        maps = label_maps(sp, state, int(attrs["void_label"]), kept)
        names = [str(sp.names[i]) for i in maps]
        progress = Progress("export-labels", len(maps))
        for k, (i, mask) in enumerate(maps.items(), start=1):
            name = str(sp.names[i])
            artifacts.write_png(out_dir / "labels" / f"{name}.png", mask)
            artifacts.write_png(out_dir / "images" / f"{name}.png", ds.read_image(name))
            progress(k)
    meta = {"classes": list(ds.classes), "palette": np.asarray(ds.palette).tolist(),
            "void": UNLABELLED, "generator": f"asal export-labels ({__version__})",
            "description": f"round {int(attrs['round'])} labels of {labelled}"
                           + (f", the pixels sieving kept ({sieved})" if sieved else "")
                           + f": {int(attrs['clicks_total'])} clicks; 255 is unlabelled"}
    with artifacts.atomic_path(out_dir / "classes.json") as tmp:
        tmp.write_text(json.dumps(meta, indent=1))
    with artifacts.atomic_path(out_dir / "pool.txt") as tmp:
        tmp.write_text("".join(f"{n}\n" for n in names))
    n_pixels = int(sum((m != UNLABELLED).sum() for m in maps.values()))
    log.info("export-labels: %d images, %d labelled pixels (%s), %d clicks, into %s",
             len(maps), n_pixels, "kept by sieving" if sieved else "every labelled pixel",
             int(attrs["clicks_total"]), out_dir)
    return {"images": names, "pixels": n_pixels}
