"""Superpixelize vs the bare OpenCV SEEDS calls, side by side on the same images in one run.

Issue goal: the superpixelize stage's per-image time within 1.25x of the bare
cv2.ximgproc SEEDS calls on the same images.

On each image (CamVid pool images resized to Cityscapes size, 2048x1024, or synthetic scenes
when ../shared/data/camvid is absent), in one process, with the order alternated per image:

  (a) bare:  cvtColor(RGB->Lab, as asal does) + createSuperpixelSEEDS(w, h, 3, n, levels=5,
             prior=3, bins=10, double_step=True) + iterate(image, 10) + getLabels()
  (b) asal:  superpixels.superpixelize_image(image, SeedsSpec(size=256))
             (colour conversion, cached seeds_request, SEEDS, connected relabelling)
  (c) asal:  superpixels.adjacency(b), which the stage also computes
  (s) the whole stage on that one image: asal's superpixelize stage on a one-image shard of a folder
      dataset holding the same pixels (PNG read, b, c, areas, HDF5 write)

and it times asal's overhead pieces alone (colour conversion, seeds_request cached and
uncached, connected_relabel, adjacency). Every image's outputs are also checked against a
frozen copy of the reference functions kept below (REFERENCE_*), so that a faster
superpixels.py can be shown to give byte-identical maps and edges.

Then the real stage CLI (`asal superpixelize`, one job and --shard/--shards jobs joined with
`asal gather --stage superpixelize`) runs on the same small pool, and every array of the
results is compared byte for byte (also against the in-process one-image shards, gathered).

    .venv/bin/python benchmarks/probes/superpixelize_vs_seeds.py --repeat 2
    .venv/bin/python benchmarks/probes/superpixelize_vs_seeds.py --quick

(5 images at 2048x1024, about 9 min; --quick: 3 images at 512x256)

Prints its figures and writes them to benchmarks/results/superpixelize_vs_seeds[_quick].txt.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "workflow"))

import cv2  # noqa: E402
import h5py  # noqa: E402
from scipy.sparse import coo_matrix  # noqa: E402
from scipy.sparse.csgraph import connected_components  # noqa: E402

from asal.cli import call
from asal.data import synthetic
from asal.data.datasets import dataset_from
from asal.method import superpixels
from asal.store import artifacts
from asal.method.superpixels import SeedsSpec

CAMVID = ROOT.parent / "shared" / "data" / "camvid"


# ------------------------------------------------------------------ frozen reference (asal 0.1.0)

def _reference_neighbour_pairs(labels):
    h, w = labels.shape
    idx = np.arange(h * w).reshape(h, w)
    a = np.concatenate([idx[:, :-1].ravel(), idx[:-1, :].ravel()])
    b = np.concatenate([idx[:, 1:].ravel(), idx[1:, :].ravel()])
    return a, b


def REFERENCE_connected_relabel(labels):
    h, w = labels.shape
    flat = labels.ravel()
    a, b = _reference_neighbour_pairs(labels)
    same = flat[a] == flat[b]
    graph = coo_matrix((np.ones(int(same.sum()), dtype=np.int8), (a[same], b[same])),
                       shape=(h * w, h * w))
    _, comp = connected_components(graph, directed=False)
    return comp.reshape(h, w).astype(np.int32)


def REFERENCE_adjacency(local_map):
    flat = local_map.ravel().astype(np.int64)
    a, b = _reference_neighbour_pairs(local_map)
    la, lb = flat[a], flat[b]
    diff = la != lb
    lo = np.minimum(la[diff], lb[diff])
    hi = np.maximum(la[diff], lb[diff])
    n = int(flat.max()) + 1 if flat.size else 0
    keys = np.unique(lo * n + hi)
    return np.stack([keys // n, keys % n], axis=1) if keys.size else np.zeros((0, 2), np.int64)


def same_bytes(x: np.ndarray, y: np.ndarray) -> bool:
    return x.dtype == y.dtype and x.shape == y.shape and np.array_equal(x, y)


# ------------------------------------------------------------------ images

def load_images(n: int, height: int, width: int) -> tuple[list[tuple[str, np.ndarray]], str]:
    """n RGB uint8 images of height x width: CamVid pool images spread over its sequences,
    resized with cv2 (bicubic), or synthetic scenes."""
    if (CAMVID / "train.txt").exists():
        names = [Path(line.split()[0]).stem
                 for line in (CAMVID / "train.txt").read_text().splitlines() if line.strip()]
        pick = [names[round(k * (len(names) - 1) / max(n - 1, 1))] for k in range(n)]
        out = []
        for name in pick:
            bgr = cv2.imread(str(CAMVID / "train" / f"{name}.png"), cv2.IMREAD_COLOR)
            rgb = cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB)
            out.append((name, cv2.resize(rgb, (width, height), interpolation=cv2.INTER_CUBIC)))
        return out, f"CamVid train images ({CAMVID}) resized with cv2.INTER_CUBIC"
    out = []
    for k in range(n):
        image, _ = synthetic.make_scene(np.random.default_rng([0, 0, k]), height, width)
        out.append((f"synthetic_{k:04d}", image))
    return out, "synthetic scenes (asal.data.synthetic.make_scene); CamVid not found"


def write_folder_dataset(root: Path, images) -> dict:
    """A folder dataset holding exactly these pixels (PNG is lossless)."""
    (root / "images").mkdir(parents=True)
    (root / "labels").mkdir()
    for name, image in images:
        cv2.imwrite(str(root / "images" / f"{name}.png"), cv2.cvtColor(image, cv2.COLOR_RGB2BGR))
        cv2.imwrite(str(root / "labels" / f"{name}.png"),
                    np.zeros(image.shape[:2], dtype=np.uint8))
    (root / "pool.txt").write_text("".join(n + "\n" for n, _ in images))
    (root / "val.txt").write_text(images[0][0] + "\n")
    (root / "classes.json").write_text(json.dumps({"classes": ["thing"]}))
    return {"name": "folder", "root": str(root), "resize": 1.0}


def read_arrays(path) -> dict:
    with h5py.File(path) as f:
        return {k: f[k][()] for k in f}


# ------------------------------------------------------------------ timings

def timed(fn, *args):
    w0, c0 = time.perf_counter(), time.process_time()
    out = fn(*args)
    return out, time.perf_counter() - w0, time.process_time() - c0


def bare_seeds(image: np.ndarray, n: int, spec: SeedsSpec) -> np.ndarray:
    h, w = image.shape[:2]
    lab = cv2.cvtColor(image, cv2.COLOR_RGB2LAB)
    seeds = cv2.ximgproc.createSuperpixelSEEDS(w, h, 3, n, 5, 3, 10, True)
    seeds.iterate(lab, 10)
    return seeds.getLabels()


def min_time(fn, *args, repeat: int = 3) -> float:
    best = float("inf")
    for _ in range(repeat):
        t = time.perf_counter()
        fn(*args)
        best = min(best, time.perf_counter() - t)
    return best


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--quick", action="store_true", help="3 images at 512x256")
    p.add_argument("--images", type=int, help="images (default 5, quick 3)")
    p.add_argument("--repeat", type=int, default=1,
                   help="runs of a and b per image (alternated); the fastest of each counts")
    p.add_argument("--shards", type=int, default=2, help="shards of the CLI run")
    p.add_argument("--out", help="results file (default benchmarks/results/...)")
    args = p.parse_args()
    height, width = (256, 512) if args.quick else (1024, 2048)
    n_images = args.images or (3 if args.quick else 5)
    out_path = Path(args.out) if args.out else (
        ROOT / "benchmarks" / "results" /
        f"superpixelize_vs_seeds{'_quick' if args.quick else ''}.txt")
    spec = SeedsSpec(size=256)
    lines: list[str] = []

    def say(text: str = "") -> None:
        print(text, flush=True)
        lines.append(text)

    images, source = load_images(n_images, height, width)
    say(f"# superpixelize vs bare SEEDS  ({time.strftime('%Y-%m-%d %H:%M:%S')})")
    say(f"# {platform.platform()}, python {platform.python_version()}, numpy {np.__version__}, "
        f"opencv {cv2.__version__} (threads {cv2.getNumThreads()}), cpus {os.cpu_count()}, "
        f"load avg {os.getloadavg()[0]:.2f}")
    say(f"# {n_images} images of {width}x{height} from {source}")

    # seeds_request: uncached once per process (per shard job), then an lru_cache lookup.
    superpixels._seeds_request.cache_clear()
    (request, grid), t_req_uncached, _ = timed(spec.seeds_request, height, width)
    t_req_cached = min_time(spec.seeds_request, height, width, repeat=50)
    say(f"# SeedsSpec(size=256): SEEDS asked for {request}, grid {grid} superpixels; "
        f"bare call uses the same n={request}")
    say()

    tmp = Path(tempfile.mkdtemp(prefix="asal_sp_bench_"))
    dataset = write_folder_dataset(tmp / "data", images)

    # warm-up (first-call costs of OpenCV, HDF5) on a small image, not timed
    bare_seeds(images[0][1][:64, :128].copy(), 32, spec)
    call("superpixelize", dataset=dataset, spec=spec.as_dict(), out=tmp / "warm.h5", shard=0,
         shards=n_images)

    rows = []
    say("per image: wall seconds (cpu seconds); s = whole stage on a one-image shard")
    say(f"{'image':<16} {'a bare':>14} {'b asal':>14} {'c adj':>7} {'s stage':>14} "
        f"{'b/a':>6} {'(b+c)/a':>8} {'s/a':>6} {'n':>5} {'split':>5} same")
    shard_paths = []
    for k, (name, image) in enumerate(images):
        order = ("a", "b", "s") if k % 2 == 0 else ("s", "b", "a")
        order = order + ("b", "a") * (args.repeat - 1)
        got = {}
        for what in order:
            if what in ("a", "b"):
                fn = bare_seeds if what == "a" else superpixels.superpixelize_image
                res = timed(fn, image, request, spec) if what == "a" else timed(fn, image, spec)
                if what not in got or res[1] < got[what][1]:
                    got[what] = res
            else:
                path = tmp / f"inproc{k}.h5"
                got["s"] = timed(call, "superpixelize", dataset=dataset, spec=spec.as_dict(),
                                 out=path, shard=k, shards=n_images)
                shard_paths.append(str(path))
        raw, ta, ca = got["a"]
        local, tb, cb = got["b"]
        _, ts, cs = got["s"]
        edges, tc, cc = timed(superpixels.adjacency, local)
        # asal's overhead pieces alone
        t_cvt = min_time(cv2.cvtColor, image, cv2.COLOR_RGB2LAB)
        ref_local, t_rel_ref, _ = timed(REFERENCE_connected_relabel, raw)
        t_rel = min_time(superpixels.connected_relabel, raw)
        ref_edges, t_adj_ref, _ = timed(REFERENCE_adjacency, ref_local)
        t_adj = min_time(superpixels.adjacency, local)
        # the stage's own extras: PNG read, areas, HDF5 write of this image's results
        ds = dataset_from(dataset)
        t_read = min_time(ds.read_image, name)
        t_area = min_time(lambda: np.bincount(local.ravel(), minlength=int(local.max()) + 1))
        one = artifacts.read_superpixels(tmp / f"inproc{k}.h5")

        def write_one():
            with artifacts.superpixel_writer(tmp / "write_test.h5", one.attrs) as w:
                w.add(name, one.local_map(0), one.n_superpixels, one.area, one.edges)

        t_write = min_time(write_one)
        # b's SEEDS run is its own, so this also checks that SEEDS is deterministic
        same = same_bytes(local, ref_local) and same_bytes(edges, ref_edges)
        stage_map = read_arrays(tmp / f"inproc{k}.h5")
        same = same and same_bytes(stage_map["maps"], local.ravel()) and same_bytes(
            stage_map["edges"], edges)
        n_raw = len(np.unique(raw))
        n = int(local.max()) + 1
        rows.append(dict(ta=ta, tb=tb, tc=tc, ts=ts, ca=ca, cb=cb, cc=cc, cs=cs, cvt=t_cvt,
                         rel=t_rel, rel_ref=t_rel_ref, adj=t_adj, adj_ref=t_adj_ref, same=same,
                         read=t_read, area=t_area, write=t_write))
        say(f"{name:<16} {ta:6.3f} ({ca:5.2f}) {tb:6.3f} ({cb:5.2f}) {tc:7.3f} "
            f"{ts:6.3f} ({cs:5.2f}) {tb / ta:6.3f} {(tb + tc) / ta:8.3f} {ts / ta:6.3f} "
            f"{n:5d} {n - n_raw:5d} {'yes' if same else 'NO'}")
        if not same:
            say(f"  !! {name}: asal's maps/edges differ from the reference functions")

    def mean(key):
        return float(np.mean([r[key] for r in rows]))

    ta, tb, tc, ts = mean("ta"), mean("tb"), mean("tc"), mean("ts")
    say()
    say(f"mean per image (wall s): a bare {ta:.3f}  b asal {tb:.3f}  c adjacency {tc:.3f}  "
        f"s stage {ts:.3f}")
    say(f"ratio of means (wall):  b/a = {tb / ta:.3f}   (b+c)/a = {(tb + tc) / ta:.3f}   "
        f"s/a = {ts / ta:.3f}   (goal <= 1.25)")
    say(f"median per-image ratio: b/a = {np.median([r['tb'] / r['ta'] for r in rows]):.3f}   "
        f"(b+c)/a = {np.median([(r['tb'] + r['tc']) / r['ta'] for r in rows]):.3f}   "
        f"s/a = {np.median([r['ts'] / r['ta'] for r in rows]):.3f}")
    say(f"ratio of means (cpu):   b/a = {mean('cb') / mean('ca'):.3f}   "
        f"(b+c)/a = {(mean('cb') + mean('cc')) / mean('ca'):.3f}   "
        f"s/a = {mean('cs') / mean('ca'):.3f}")
    over_b = mean("rel") + t_req_cached
    over_s = over_b + mean("adj") + mean("read") + mean("area") + mean("write")
    say(f"from the pieces (a + asal's extra work, timed alone; least noisy): "
        f"b/a = {(ta + over_b) / ta:.3f}   (b+c)/a = {(ta + over_b + mean('adj')) / ta:.3f}   "
        f"s/a = {(ta + over_s) / ta:.3f}")
    say("  (other work shares this machine: single wall times can swing by 2x, see the cpu "
        "column; trust the median, cpu and pieces figures over the ratio of wall means)")
    say()
    say("asal's overhead pieces, mean per image (wall s, best of 3 unless noted):")
    say(f"  colour conversion RGB->Lab       {mean('cvt'):.4f}   (in a and b alike)")
    say(f"  seeds_request, cached             {t_req_cached:.2e}   "
        f"(uncached: {t_req_uncached:.3f} once per process / shard job)")
    say(f"  connected_relabel                 {mean('rel'):.4f}   "
        f"(frozen reference copy, single run: {mean('rel_ref'):.4f})")
    say(f"  adjacency                         {mean('adj'):.4f}   "
        f"(frozen reference copy, single run: {mean('adj_ref'):.4f})")
    say(f"  stage: PNG read (read_image)       {mean('read'):.4f}")
    say(f"  stage: areas (bincount)           {mean('area'):.4f}")
    say(f"  stage: HDF5 write of one image    {mean('write'):.4f}")
    say(f"  => extra over a: b {over_b / ta * 100:.1f}%, b+c "
        f"{(over_b + mean('adj')) / ta * 100:.1f}%, whole stage {over_s / ta * 100:.1f}% of a "
        f"(+ per job: uncached seeds_request {t_req_uncached:.2f} s and python imports)")
    say(f"outputs identical to the frozen reference functions on all {len(rows)} images: "
        f"{'yes' if all(r['same'] for r in rows) else 'NO'}")
    say()

    # ---------------------------------------------------------------- the real stage CLI
    cli = [str(ROOT / ".venv" / "bin" / "asal")]
    if not Path(cli[0]).exists():
        cli = [sys.executable, "-c", "import sys; from asal.cli import main; main(sys.argv[1:])"]
    env = dict(os.environ, PYTHONPATH=str(ROOT / "workflow"))
    spec_json = json.dumps(spec.as_dict())
    ds_json = json.dumps(dataset)

    def run_cli(*argv) -> float:
        t = time.perf_counter()
        proc = subprocess.run(cli + list(argv), env=env, capture_output=True, text=True)
        if proc.returncode:
            raise SystemExit(f"asal {' '.join(argv)} failed:\n{proc.stderr}")
        return time.perf_counter() - t

    whole = tmp / "cli_whole.h5"
    t_whole = run_cli("superpixelize", "--dataset", ds_json, "--spec", spec_json,
                      "--out", str(whole))
    parts = [tmp / f"cli_shard{k}.h5" for k in range(args.shards)]
    t_parts = [run_cli("superpixelize", "--dataset", ds_json, "--spec", spec_json,
                       "--out", str(path), "--shard", str(k), "--shards", str(args.shards))
               for k, path in enumerate(parts)]
    gathered = tmp / "cli_gathered.h5"
    t_gather = run_cli("gather", "--stage", "superpixelize", "--shard-files",
                       *map(str, parts), "--out", str(gathered))
    inproc_gathered = tmp / "inproc_gathered.h5"
    call("gather", stage="superpixelize", shard_files=shard_paths, out=inproc_gathered)
    a, b, c = read_arrays(whole), read_arrays(gathered), read_arrays(inproc_gathered)
    say(f"stage CLI on the same {n_images}-image pool: one job {t_whole:.2f} s "
        f"({t_whole / n_images:.2f} s/image incl. process start and an uncached seeds_request); "
        f"{args.shards} shard jobs {' + '.join(f'{t:.2f}' for t in t_parts)} s; "
        f"gather {t_gather:.2f} s")
    say(f"{'array':<14} {'dtype':<7} {'shape':<16} {'sharded CLI == one job':<24} "
        f"in-process 1-image shards == one job")
    all_same = a.keys() == b.keys() == c.keys()
    for key in sorted(a):
        s1, s2 = same_bytes(a[key], b[key]), same_bytes(a[key], c[key])
        all_same &= s1 and s2
        say(f"{key:<14} {str(a[key].dtype):<7} {str(a[key].shape):<16} "
            f"{'byte-identical' if s1 else 'DIFFERENT':<24} "
            f"{'byte-identical' if s2 else 'DIFFERENT'}")
    say(f"sharded == unsharded, every array byte-identical: {'yes' if all_same else 'NO'}")

    out_path.parent.mkdir(parents=True, exist_ok=True)
    out_path.write_text("\n".join(lines) + "\n")
    print(f"(written to {out_path})")
    for f in sorted(tmp.rglob("*"), reverse=True):
        f.unlink() if f.is_file() else f.rmdir()
    tmp.rmdir()


if __name__ == "__main__":
    main()
