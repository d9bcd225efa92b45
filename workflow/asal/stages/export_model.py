"""`asal export-model` (a command, not a rule): a trained model out of asal, as TorchScript,
and as ONNX where torch's exporter handles the network and the `onnx` package is installed.

The whole network goes out, the frozen encoder included for a feature head, with the input
normalisation inside (asal.learning.deploy): it takes float32 (N, 3, H, W) RGB in 0..255 at
the model's size and gives (N, C, H, W) class logits. A JSON file beside it says so, with the
classes, their colours and the size.
"""

from __future__ import annotations

import json
import logging
from pathlib import Path

log = logging.getLogger(__name__)

HELP = "write a trained model as TorchScript (and ONNX), the whole network from pixels"


def add_arguments(p) -> None:
    p.add_argument("--model", required=True, help="a round's model.pt")
    p.add_argument("--out", required=True, help="the TorchScript file (NAME.pt); NAME.onnx "
                   "and NAME.json beside it")
    p.add_argument("--size", type=int, nargs=2, metavar=("W", "H"), default=None,
                   help="the model's working size, for a checkpoint that does not record it")
    p.add_argument("--no-onnx", action="store_true", help="TorchScript only")


def main(args) -> dict:
    return export_model(model=args.model, out=args.out,
                        size=None if args.size is None else (args.size[1], args.size[0]),
                        onnx=not args.no_onnx)


def export_model(*, model: str, out: str, size: tuple[int, int] | None = None,
                 onnx: bool = True) -> dict:
    import torch

    from ..learning.deploy import load_whole, model_size
    from ..store.artifacts import atomic_path

    net, meta = load_whole(model)
    h, w = model_size(meta, size, model)
    example = torch.full((1, 3, h, w), 127.0)
    out_path = Path(out)
    with torch.no_grad():
        traced = torch.jit.trace(net, example, check_trace=False)
    with atomic_path(out_path) as tmp:
        traced.save(str(tmp))
    written = {"torchscript": str(out_path)}
    if onnx:
        written["onnx"] = _onnx(net, example, out_path.with_suffix(".onnx"))
    card = {"input": f"float32 (N, 3, {h}, {w}): RGB in 0..255 (normalisation inside)",
            "output": f"float32 (N, {meta['n_classes']}, {h}, {w}): class logits; argmax is "
                      "the class index",
            "image_size": [h, w], "classes": meta["classes"], "palette": meta.get("palette"),
            "model": meta["model"], "encoder": meta.get("encoder"), "source": str(model),
            "round": meta.get("round"), "trial": meta.get("trial"),
            "asal_version": meta.get("asal_version"), **written}
    with atomic_path(out_path.with_suffix(".json")) as tmp:
        tmp.write_text(json.dumps(card, indent=1))
    log.info("export-model: %s", ", ".join(f"{k} {v}" for k, v in written.items()))
    return card


def _onnx(net, example, path: Path) -> str | None:
    """ONNX beside the TorchScript file, or None with a line saying why not."""
    import torch

    from ..store.artifacts import atomic_path

    try:
        import onnx  # noqa: F401  (torch's exporter needs it)
    except ImportError:
        log.warning("export-model: no ONNX file: the `onnx` package is not installed "
                    "(pip install onnx); the TorchScript file is written")
        return None
    try:
        with atomic_path(path) as tmp, torch.no_grad():
            torch.onnx.export(net, (example,), str(tmp), input_names=["rgb"],
                              output_names=["logits"], dynamo=False)
    except Exception as err:  # the exporter's failures come in many types
        log.warning("export-model: no ONNX file: torch.onnx could not export this network "
                    "(%s); the TorchScript file is written", err)
        return None
    return str(path)
