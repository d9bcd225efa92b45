"""The labelling page's screenshot of the docs, from a real round: a multi-class answer being
given (docs/annotate_multiclass.jpg).

Serves a finished round's queries with `asal annotate --config` (into a temporary folder, so
the run is left as it is), answers the queries before the largest region of several classes among the first 80 as the
simulated multi-class oracle would, picks that one's classes on the page
(without answering it) and saves what Chromium shows.

    python docs/shoot_labelling_page.py --config config.yaml workflow/configs/beyond/multiclass.yaml \\
        --method AMSP+S+M --trial 0 --round 1 --out docs/annotate_multiclass.jpg

Needs Debian's chromium and chromium-driver, and selenium (the test extras).
"""

from __future__ import annotations

import argparse
import json
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import cv2
import numpy as np

REPO = Path(__file__).resolve().parents[1]


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--config", nargs="+", required=True)
    p.add_argument("--method", required=True)
    p.add_argument("--trial", type=int, default=0)
    p.add_argument("--round", type=int, required=True)
    p.add_argument("--out", type=Path, required=True)
    args = p.parse_args()

    from selenium import webdriver
    from selenium.webdriver.common.by import By

    from asal.experiment.config import load_config
    from asal.experiment.inputs import Inputs
    from asal.experiment.methods import stage_settings, superpixel_kind
    from asal.method.answers import AnswerSpec, answer_queries, members
    from asal.store import artifacts, layout
    from asal.store.answers import query_members
    from asal.store.round_tables import open_labelled, open_regions

    config = load_config(args.config)
    inputs = Inputs(config)
    files = inputs.of("query", method=args.method, trial=args.trial, round=args.round)
    spec = AnswerSpec(**stage_settings(config, args.method, "answer"))
    queries = artifacts.read_csv(files["queries"])
    with artifacts.open_superpixels(inputs.superpixels_file(args.method)) as sp, \
            artifacts.open_table(files["oracle_table"], "oracle_table", ("gt_hist",)) as (gt, _), \
            open_regions(files.get("merged"), sp.n_superpixels) as regions, \
            open_labelled(files.get("labelled"), sp.n_superpixels) as (prev, _):
        _, _, hist = query_members(files["queries"], queries["region"].to_numpy(np.int64),
                                   regions, prev, sp.n_superpixels, 1 << 20, gt["gt_hist"],
                                   gt["gt_hist"].shape[1] - 1)
    sets, _, _, _ = answer_queries(hist, spec)
    named = members(sets, hist.shape[1])
    # the largest region naming several classes among the first 80 queries: one a reader sees
    several = [k for k, row in enumerate(named[:80]) if row[:-1].sum() >= 2]
    target = max(several, key=lambda k: int(queries["size"].iloc[k]))

    with tempfile.TemporaryDirectory() as tmp:
        server = subprocess.Popen(
            [str(Path(sys.executable).with_name("asal")), "annotate", "--config", *args.config,
             "--method", args.method, "--trial", str(args.trial), "--round", str(args.round),
             "--out", tmp, "--port", "0", "--annotator", "docs"],
            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        try:
            url = None
            while url is None:
                line = server.stdout.readline()
                if not line:
                    raise SystemExit("asal annotate ended before serving")
                found = re.search(r"(http://\S+)", line)
                url = found.group(1) if found else None
            options = webdriver.ChromeOptions()
            options.binary_location = "/usr/bin/chromium"
            for flag in ("--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
                         "--no-first-run", "--disable-background-networking",
                         "--disable-component-update", "--disable-sync",
                         "--disable-dev-shm-usage", "--window-size=1400,1000",
                         f"--user-data-dir={tmp}/profile"):
                options.add_argument(flag)
            driver = webdriver.Chrome(service=webdriver.ChromeService("/usr/bin/chromedriver"),
                                      options=options)

            def ready():
                for _ in range(200):
                    if driver.execute_script("return document.body.dataset.ready") == "1":
                        return
                    time.sleep(0.1)

            def button(label):
                return driver.find_element(By.CSS_SELECTOR,
                                           f'button.class[data-label="{label}"]')

            driver.get(url)
            for k in range(target + 1):
                ready()
                for c in np.flatnonzero(named[k]):
                    button(int(c)).click()
                if k < target:
                    if named[k][-1]:
                        continue  # void answers at once
                    driver.find_element(By.ID, "submit").click()
            time.sleep(1.0)  # the pictures loaded
            png = driver.get_screenshot_as_png()
            driver.quit()
        finally:
            server.kill()
    image = cv2.imdecode(np.frombuffer(png, np.uint8), cv2.IMREAD_COLOR)
    from asal.store.artifacts import atomic_path

    with atomic_path(args.out) as tmp:
        tmp.write_bytes(cv2.imencode(".jpg", image, [cv2.IMWRITE_JPEG_QUALITY, 82])[1].tobytes())
    print(f"{args.out}: query {target + 1} of the round, classes "
          + ", ".join(json.dumps(int(c)) for c in np.flatnonzero(named[target][:-1])))


if __name__ == "__main__":
    main()
