"""Writing a base superpixel file from per-image maps: shared by the stages that make one
(superpixelize from SEEDS or SLIC, superpixelize_oracle from the ground truth), so both give
the same layout. A helper of those stages, not a stage."""

from __future__ import annotations

import numpy as np

from ..data.datasets import Dataset
from ..method import superpixels
from ..progress import Progress
from ..store import artifacts
from ..store.artifacts import provenance


def write_superpixels(*, ds: Dataset, local_map_of, spec: dict, what: str,
                       names_in: list[str], out: str, extra=dict) -> dict:
    """Superpixel maps, areas and adjacency of some pool images, written image by image:
    `local_map_of(name)` gives an image's map, `what` names the progress lines. `extra()`
    gives attributes known only at the end. Returns the file's attributes (the
    writer adds the sizes achieved when it closes)."""
    attrs = provenance("superpixelize", spec, superpixel_spec=spec, classes=list(ds.classes),
                       dataset=ds.identity())
    progress = Progress(what, len(names_in))
    with artifacts.superpixel_writer(out, attrs) as w:
        for k, name in enumerate(names_in):
            local = local_map_of(name)
            n = int(local.max()) + 1
            w.add(name, local, n, np.bincount(local.ravel(), minlength=n),
                  superpixels.adjacency(local))
            progress(k + 1)
        w.rows.attrs.update(extra())
    return w.rows.attrs
