"""A tiny round to answer, an `asal annotate` server in its own process, and a headless
Chromium driven over WebDriver (Debian's chromium and chromium-driver)."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ASAL = str(Path(sys.executable).with_name("asal"))
CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
CHROMEDRIVER = shutil.which("chromedriver") or "/usr/bin/chromedriver"
CHROMIUM_FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
                  "--no-first-run", "--disable-background-networking",
                  "--disable-component-update", "--disable-sync", "--disable-dev-shm-usage",
                  "--window-size=1280,800"]


def make_round(root: Path, budget: int = 5, n_pool: int = 3) -> dict:
    """Synthetic pool, SEEDS superpixels, oracle table and a warm-up draw of `budget`
    queries: the files one round of `asal annotate` reads, and where it writes."""
    from asal.data import synthetic
    from asal.method.superpixels import SeedsSpec
    from asal.stages.oracle_table import oracle_table
    from asal.stages.superpixelize import superpixelize
    from asal.stages.warmup import warmup

    data = root / "dataset"
    synthetic.generate(data, n_pool=n_pool, n_val=2, height=48, width=64, seed=0)
    ds = {"name": "synthetic", "root": str(data), "resize": 1.0, "evaluation_split": "val"}
    sp = root / "seeds.h5"
    superpixelize(dataset=ds, spec=SeedsSpec(size=64), out=str(sp))
    table = root / "oracle.h5"
    oracle_table(dataset=ds, superpixels=str(sp), out=str(table))
    queries = root / "round0" / "queries.csv"
    warmup(superpixels=str(sp), budget=budget, seed=0, trial=0, out=str(queries))
    return {"dataset": ds, "superpixels": str(sp), "table": str(table),
            "queries": str(queries), "answers": str(root / "round0" / "answers.csv"),
            "labelled": str(root / "round0" / "labelled.h5"), "root": root}


def annotate_command(r: dict, *extra: str) -> list[str]:
    return [ASAL, "annotate", "--dataset", json.dumps(r["dataset"]),
            "--superpixels", r["superpixels"], "--queries", r["queries"], "--round", "0",
            "--answers", r["answers"], "--labelled-out", r["labelled"], "--port", "0", *extra]


class Server:
    """`asal annotate` in a child process; `url` is the address it printed."""

    def __init__(self, command: list[str], timeout: float = 60, cwd=None):
        self.log = tempfile.NamedTemporaryFile("w+", suffix=".log", delete=False)
        self.proc = subprocess.Popen(command, stdout=self.log, stderr=subprocess.STDOUT,
                                     text=True, cwd=cwd)
        deadline = time.time() + timeout
        self.url = None
        while time.time() < deadline and self.url is None:
            if self.proc.poll() is not None:
                raise AssertionError(f"asal annotate exited {self.proc.returncode}:\n"
                                     f"{self.output()}")
            m = re.search(r"answer the queries of .* at\s+(http://\S+)", self.output())
            self.url = m.group(1) if m else None
            time.sleep(0.1)
        if self.url is None:
            self.kill()
            raise AssertionError(f"no address printed within {timeout} s:\n{self.output()}")
        self.base = re.sub(r"/(\?.*)?$", "", self.url)

    def output(self) -> str:
        return Path(self.log.name).read_text()

    def wait(self, timeout: float = 60) -> int:
        return self.proc.wait(timeout)

    def kill(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(10)


def chromium_available() -> str | None:
    """Why the browser tests cannot run here, or None when they can."""
    for path, package in ((CHROMIUM, "chromium"), (CHROMEDRIVER, "chromium-driver")):
        if not os.path.exists(path):
            return f"{path} missing: apt-get install {package}"
    try:
        import selenium  # noqa: F401
    except ImportError:
        return "selenium missing: pip install -e '.[test]'"
    return None


def browser(profile: Path):
    """A headless Chromium with a fresh profile, through chromedriver (WebDriver)."""
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for flag in CHROMIUM_FLAGS + [f"--user-data-dir={profile}"]:
        options.add_argument(flag)
    return webdriver.Chrome(service=Service(CHROMEDRIVER), options=options)


def wait_ready(driver, timeout: float = 20):
    """Until the page has shown a query (or the done screen) after the last action."""
    from selenium.webdriver.support.ui import WebDriverWait

    WebDriverWait(driver, timeout).until(
        lambda d: d.execute_script("return document.body.dataset.ready") == "1")


def unlabelled_folder(root: Path, n_pool: int = 6, n_val: int = 2, eval_labels: bool = True):
    """A folder dataset whose pool has images only (its labels kept aside in `hidden/`, for
    the test's annotator), and an evaluation split with labels (or without)."""
    from asal.data import synthetic

    src = root / "synthetic"
    synthetic.generate(src, n_pool=n_pool, n_val=n_val, height=48, width=64, seed=0)
    data, hidden = root / "mine", root / "hidden"
    (data / "images").mkdir(parents=True)
    hidden.mkdir()
    pool = src.joinpath("pool.txt").read_text().split()
    val = src.joinpath("val.txt").read_text().split()
    for name in pool + val:
        shutil.copy(src / "images" / f"{name}.png", data / "images" / f"{name}.png")
        label = src / "labels" / f"{name}.png"
        if name in val and eval_labels:
            (data / "labels").mkdir(exist_ok=True)
            shutil.copy(label, data / "labels" / f"{name}.png")
        else:
            shutil.copy(label, hidden / f"{name}.png")
    meta = json.loads(src.joinpath("classes.json").read_text())
    (data / "classes.json").write_text(json.dumps({"classes": meta["classes"],
                                                   "palette": meta["palette"]}))
    (data / "pool.txt").write_text("\n".join(pool) + "\n")
    (data / "val.txt").write_text("\n".join(val) + "\n")
    return data, hidden


def dominant_labels(queries: str, sp_path: str, merged: str | None, hidden: Path) -> dict:
    """{query: the dominant label of its region in the hidden ground truth (void: C)}."""
    import numpy as np
    import pandas as pd
    from PIL import Image

    from asal.annotate.regions import query_mask
    from asal.store import artifacts

    table = pd.read_csv(queries)
    sp = artifacts.read_superpixels(sp_path)
    n_classes = len(json.loads(sp.attrs["classes"]))
    region = (artifacts.read_table(merged, "merge", ("region",))[0]["region"] if merged
              else np.arange(sp.n_superpixels))
    names = list(sp.names)
    out = {}
    for q, rep, name in zip(table["query"], table["region"], table["image_name"]):
        i = names.index(name)
        lo, hi = sp.sp_offset[i], sp.sp_offset[i + 1]
        mask = query_mask(region[lo:hi], sp.local_map(i), int(rep))
        label = np.asarray(Image.open(hidden / f"{name}.png")).astype(np.int64)[mask]
        label[label == 255] = n_classes
        out[int(q)] = int(np.bincount(label, minlength=n_classes + 1).argmax())
    return out
