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


HOLE_SHAPE = (96, 128)  # the original files of hole_round; the pool works at half that


def hole_image(shape=HOLE_SHAPE, seed: int = 0):
    """A bluish image with gentle gradients (SEEDS cuts it into a grid), every channel at 80
    or more: dimming changes each pixel by far more than the browser's scaling does."""
    import numpy as np

    y, x = np.mgrid[:shape[0], :shape[1]].astype(float)
    r = 80 + 40 * x / shape[1] + 10 * seed
    g = 100 + 60 * y / shape[0]
    b = 170 + 40 * (x + y) / sum(shape)
    return np.stack([r, g, b], axis=-1).astype(np.uint8)


def hole_round(root: Path) -> dict:
    """A round 1 on a folder of two images of 128x96 at `resize: 0.5` (64x48 superpixel maps)
    with two queries: on pool_0 a merged region around a superpixel it does not hold (a hole,
    as left by one labelled before), reaching the image's top, left and bottom borders; on
    pool_1 one small superpixel. `mask` gives each query's pixels at the working resolution,
    `hole` the hole's."""
    import cv2
    import numpy as np
    import pandas as pd

    from asal.annotate.regions import query_mask
    from asal.method.superpixels import SeedsSpec
    from asal.stages.superpixelize import superpixelize
    from asal.store import artifacts

    data = root / "hole"
    (data / "images").mkdir(parents=True)
    names = ["pool_0", "pool_1"]
    for k, name in enumerate(names):
        cv2.imwrite(str(data / "images" / f"{name}.png"),
                    cv2.cvtColor(hole_image(seed=k), cv2.COLOR_RGB2BGR))
    (data / "pool.txt").write_text("\n".join(names) + "\n")
    (data / "classes.json").write_text(json.dumps(
        {"classes": ["sky", "building", "road"], "palette": [[70, 130, 180], [70, 70, 70],
                                                             [128, 64, 128]]}))
    ds = {"name": "folder", "root": str(data), "resize": 0.5, "evaluation_split": None}
    sp_path = root / "seeds.h5"
    superpixelize(dataset=ds, spec=SeedsSpec(size=64), out=str(sp_path))
    sp = artifacts.read_superpixels(sp_path)
    region = np.arange(sp.n_superpixels)
    local = sp.local_map(0)
    xs = np.broadcast_to(np.arange(local.shape[1]), local.shape)
    n0 = int(sp.sp_offset[1])
    cx = (np.bincount(local.ravel(), xs.ravel(), n0)
          / np.maximum(np.bincount(local.ravel(), None, n0), 1))  # centre column of each
    hole = int(local[local.shape[0] // 2, local.shape[1] // 2])
    members = np.flatnonzero((cx < 0.75 * local.shape[1]) & (np.arange(n0) != hole))
    rep = int(members[0])
    region[members] = rep
    attrs = artifacts.provenance("merge", {}, superpixel_spec=sp.attrs["superpixel_spec"])
    artifacts.write_table(root / "merged.h5", "merge", {"region": region}, attrs)
    small = int(sp.sp_offset[1]) + int(sp.local_map(1)[10, 40])
    masks = {0: query_mask(region[:n0], local, rep),
             1: query_mask(region[n0:int(sp.sp_offset[2])], sp.local_map(1), small)}
    queries = pd.DataFrame({"query": [0, 1], "round": 1, "region": [rep, small],
                            "image": [0, 1], "image_name": names,
                            "n_base": [len(members), 1],
                            "size": [int(masks[0].sum()), int(masks[1].sum())],
                            "score": 0.5, "uncertainty": 0.5, "predicted": 0})
    (root / "round1").mkdir()
    queries.to_csv(root / "round1" / "queries.csv", index=False)
    return {"dataset": ds, "superpixels": str(sp_path), "merged": str(root / "merged.h5"),
            "queries": str(root / "round1" / "queries.csv"), "round": 1, "mask": masks,
            "hole": local == hole, "images": {n: data / "images" / f"{n}.png" for n in names},
            "answers": str(root / "round1" / "answers.csv"),
            "labelled": str(root / "round1" / "labelled.h5"), "root": root}


def annotate_command(r: dict, *extra: str) -> list[str]:
    merged = ["--merged", r["merged"]] if r.get("merged") else []
    return [ASAL, "annotate", "--dataset", json.dumps(r["dataset"]),
            "--superpixels", r["superpixels"], "--queries", r["queries"],
            "--round", str(r.get("round", 0)), *merged,
            "--answers", r["answers"], "--labelled-out", r["labelled"], "--port", "0", *extra]


def free_port() -> int:
    """A port nothing listens on now (the kernel's pick)."""
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Server:
    """`asal annotate` in a child process; `url` is the address it printed (with `wait`
    False, once `wait_address` returned: several servers can start at the same moment)."""

    def __init__(self, command: list[str], timeout: float = 60, cwd=None, wait: bool = True):
        self.log = tempfile.NamedTemporaryFile("w+", suffix=".log", delete=False)
        self.proc = subprocess.Popen(command, stdout=self.log, stderr=subprocess.STDOUT,
                                     text=True, cwd=cwd)
        self.url = None
        if wait:
            self.wait_address(timeout)

    def wait_address(self, timeout: float = 60) -> str:
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
        return self.url

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


def _needs_browser():
    import pytest

    reason = chromium_available()
    return pytest.mark.skipif(reason is not None, reason=str(reason))


needs_browser = _needs_browser()


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


def shown_query(driver) -> int:
    wait_ready(driver)
    return int(driver.execute_script("return document.body.dataset.query"))


def click_label(driver, label: int) -> None:
    from selenium.webdriver.common.by import By

    driver.find_element(By.CSS_SELECTOR, f'button.class[data-label="{label}"]').click()


def finish_in_page(driver, server) -> None:
    """Finish on the done screen; the question and its buttons must be gone from it, and the
    done screen from the finished one."""
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait

    wait_ready(driver)
    assert driver.find_element(By.ID, "done").is_displayed()
    assert_only_screen(driver, "done")
    driver.find_element(By.ID, "finish").click()
    WebDriverWait(driver, 20).until(
        lambda d: d.execute_script("return document.body.dataset.finished") == "1")
    assert_only_screen(driver, "finished")
    assert server.wait(60) == 0, server.output()


def assert_only_screen(driver, screen: str) -> None:
    """`screen` (ask, done or finished) is shown, the others are not, and no class button is
    visible off the question screen (where a click would do nothing)."""
    from selenium.webdriver.common.by import By

    shown = {s: driver.find_element(By.ID, s).is_displayed() for s in ("ask", "done", "finished")}
    assert shown == {s: s == screen for s in shown}, shown
    visible = [b.text for b in driver.find_elements(By.CSS_SELECTOR, "button.class")
               if b.is_displayed()]
    assert bool(visible) == (screen == "ask"), visible
