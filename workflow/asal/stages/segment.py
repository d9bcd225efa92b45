"""`asal segment` (and rule segment): a trained model applied to new images, of any size and
any model kind, writing per image a class-index PNG (uint8, the dataset's class order) and a
colour overlay. What the labels were for."""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np

from ..progress import Progress

log = logging.getLogger(__name__)

HELP = "apply a trained model to new images: class-index PNGs and colour overlays"
IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".tif", ".tiff", ".bmp", ".webp")


def add_arguments(p) -> None:
    p.add_argument("images", nargs="+", help="image files or folders of them")
    p.add_argument("--model", required=True, help="a round's model.pt")
    p.add_argument("--out", required=True, help="folder for NAME.png and NAME_overlay.png")
    p.add_argument("--size", type=int, nargs=2, metavar=("W", "H"), default=None,
                   help="the model's working size, for a checkpoint that does not record it")
    p.add_argument("--device", default="auto")
    p.add_argument("--threads", type=int, default=0)


def main(args) -> dict:
    failed = segment(images=args.images, model=args.model, out=args.out,
                     size=None if args.size is None else (args.size[1], args.size[0]),
                     device=args.device, threads=args.threads)
    if failed:
        raise SystemExit(f"asal segment: {len(failed)} image(s) not segmented (see above): "
                         + ", ".join(failed[:5]))
    return failed


def image_files(paths: list[str]) -> list[Path]:
    """The image files named, folders expanded (sorted, by suffix); a path that does not
    exist is refused, naming it."""
    out = []
    for raw in paths:
        path = Path(raw)
        if path.is_dir():
            out += sorted(f for f in path.iterdir() if f.suffix.lower() in IMAGE_SUFFIXES)
        elif path.exists():
            out.append(path)
        else:
            raise FileNotFoundError(f"{path}: no such image or folder")
    if not out:
        raise FileNotFoundError(f"no image ({', '.join(IMAGE_SUFFIXES)}) in {', '.join(paths)}")
    return out


def segment(*, images: list[str], model: str, out: str, size: tuple[int, int] | None = None,
            device: str = "auto", threads: int = 0) -> list[str]:
    """Segment every image; one that cannot be read is named in the log and the others are
    still written. Returns the images that failed."""
    from ..data.datasets import DatasetError, default_palette, read_rgb
    from ..learning.deploy import load_whole, model_size, overlay, segment_image
    from ..learning.inference import torch_setup
    from ..store.artifacts import atomic_path, write_png

    dev = torch_setup(threads, device)
    files = image_files(images)
    net, meta = load_whole(model, str(dev))
    work = model_size(meta, size, model)
    palette = np.array(meta.get("palette") or default_palette(meta["n_classes"]), np.uint8)
    out_dir = Path(out)
    out_dir.mkdir(parents=True, exist_ok=True)
    log.info("segment: %d images with %s (%s, %s), at %dx%d", len(files), model, meta["model"],
             meta.get("encoder", "pixels"), work[1], work[0])
    failed = []
    # a.png and a.jpg would write the same a.png: such images keep their suffix in the name
    stems = [f.stem for f in files]
    names = [f"{f.stem}_{f.suffix[1:]}" if stems.count(f.stem) > 1 else f.stem for f in files]
    progress = Progress("segment", len(files))
    for k, (path, name) in enumerate(zip(files, names), start=1):
        try:
            image = read_rgb(path)
        except DatasetError as err:
            log.error("segment: %s", err)
            failed.append(str(path))
            progress(k)
            continue
        classes = segment_image(net, image, work, str(dev))
        write_png(out_dir / f"{name}.png", classes)
        write_png(out_dir / f"{name}_overlay.png", overlay(image, classes, palette))
        progress(k)
    with atomic_path(out_dir / "classes.txt") as tmp:
        tmp.write_text("".join(f"{k} {name}\n" for k, name in enumerate(meta["classes"])))
    return failed
