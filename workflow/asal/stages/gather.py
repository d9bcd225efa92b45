"""Rules gather_superpixels, gather_stats and gather_features: one file from the shards of an
image-wise stage, as if it had run as one job."""

from __future__ import annotations

import contextlib

from ..store import artifacts, blocks
from ..store.artifacts import ArtifactError

HELP = "join the shards of an image-wise stage into one file"
STAGES = ("superpixelize", "predict", "features")


def add_arguments(p) -> None:
    p.add_argument("--stage", required=True, choices=STAGES)
    p.add_argument("--shard-files", nargs="+", required=True)
    p.add_argument("--out", required=True)


def main(args) -> None:
    if args.stage == "superpixelize":
        gather_superpixels(shard_files=args.shard_files, out=args.out)
    else:
        gather_table(shard_files=args.shard_files, stage=args.stage, out=args.out)


def _check_shards(paths: list[str], attrs: list) -> None:
    """Shard files given in order, all of one split."""
    for k, (path, a) in enumerate(zip(paths, attrs)):
        if int(a.get("shard", 0)) != k or int(a.get("n_shards", 1)) != len(paths):
            raise ArtifactError(f"{path}: is shard {a.get('shard')} of {a.get('n_shards')}, "
                                f"expected {k} of {len(paths)}")


def gather_superpixels(*, shard_files: list[str], out: str) -> dict:
    """One pool-wide superpixel file from its shards, ids renumbered as if made in one job;
    copied image by image."""
    shard_paths = shard_files
    with contextlib.ExitStack() as stack:
        parts = [stack.enter_context(artifacts.open_superpixels(p)) for p in shard_paths]
        _check_shards(shard_paths, [part.attrs for part in parts])
        artifacts.check_same("superpixel spec", shard_paths,
                             [p.attrs["superpixel_spec"] for p in parts])
        attrs = dict(parts[0].attrs)
        attrs.update(shard=0, n_shards=1, gathered_from=len(parts))
        with artifacts.superpixel_writer(out, attrs) as w:
            for part in parts:
                for i in range(part.n_images):
                    lo, hi = int(part.sp_offset[i]), int(part.sp_offset[i + 1])
                    w.add(part.names[i], part.local_map(i), hi - lo, part.area[lo:hi],
                          part.edges_of(i, i + 1) - lo)
    return w.rows.attrs


def gather_table(*, shard_files: list[str], stage: str, out: str,
                 block_rows: int = blocks.DEFAULT_BLOCK_ROWS) -> None:
    """Concatenate the row blocks of a per-superpixel table made in shards, block by block."""
    shard_paths = shard_files
    with contextlib.ExitStack() as stack:
        files = [stack.enter_context(artifacts.open_h5(p, stage)) for p in shard_paths]
        _check_shards(shard_paths, [f.attrs for f in files])
        attrs = dict(files[0].attrs)
        attrs.update(shard=0, n_shards=1, gathered_from=len(files))
        with artifacts.table_writer(out, stage, attrs) as rows:
            for key in files[0].keys():
                total = sum(f[key].shape[0] for f in files)
                rows.create(key, (total,) + files[0][key].shape[1:], files[0][key].dtype)
                at = 0
                for f in files:
                    for lo in range(0, f[key].shape[0], block_rows):
                        block = f[key][lo:lo + block_rows]
                        rows.put(key, at, block)
                        at += len(block)
