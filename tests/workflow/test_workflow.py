"""The real Snakefile, end to end, on tiny synthetic data (one trial, two rounds)."""

from __future__ import annotations

import json
import re
from pathlib import Path

import h5py
import numpy as np
import pandas as pd
import pytest

from conftest import SHARED_METHODS, shared_config
from workflow_helpers import planned_jobs, snakemake, tiny_config, write_config

pytestmark = pytest.mark.workflow

METHODS = [m for m in SHARED_METHODS if m != "Full"]  # the methods with rounds
ROUND_FILES = ["merged.h5", "queries.csv", "answers.csv", "labelled.h5", "sieved.h5", "model.pt",
               "train_log.csv", "metrics.json"]


@pytest.fixture
def run(tiny_run):
    return tiny_run


def exp(workdir):
    return workdir / "results" / "tiny"


def test_every_artifact_is_written(run):
    workdir, _ = run
    root = exp(workdir)
    assert (root / "superpixels" / "seeds.h5").exists()
    assert (root / "oracle" / "seeds.h5").exists()
    warm = root / "warmup" / "trial0" / "round0"
    for name in ["queries.csv", "answers.csv", "labelled.h5", "sieved.h5", "model.pt",
                 "metrics.json", "stats.h5"]:
        assert (warm / name).exists(), name
    for method in METHODS:
        for rnd in (1, 2):
            folder = root / method / "trial0" / f"round{rnd}"
            for name in ROUND_FILES:
                assert (folder / name).exists(), folder / name
        # The last round's model feeds no later round: its statistics are not computed.
        assert (root / method / "trial0" / "round1" / "stats.h5").exists()
        assert not (root / method / "trial0" / "round2" / "stats.h5").exists()
    # No temporary file survives a successful run.
    assert not list(root.rglob("*.tmp"))


def test_every_rule_has_log_and_benchmark(run):
    workdir, _ = run
    logs = workdir / "results" / "logs" / "tiny"
    benches = workdir / "results" / "benchmarks" / "tiny"
    for rule in ["synthesize", "superpixelize", "oracle_table", "warmup", "merge", "acquire",
                 "query", "sieve", "train", "evaluate", "predict", "report"]:
        assert list(logs.glob(f"{rule}*")), rule
        assert list(benches.glob(f"{rule}*")), rule
    # Every log ends in .log and every benchmark file in .tsv, sharded or not.
    assert all(p.suffix == ".log" for p in logs.rglob("*") if p.is_file())
    assert all(p.suffix == ".tsv" for p in benches.rglob("*") if p.is_file())
    text = (logs / "train" / "AMSP+S" / "trial0" / "round1.log").read_text()
    assert "train: 15/15" in text


def test_hdf5_artifacts_carry_provenance(run):
    workdir, _ = run
    root = exp(workdir)
    for path in [root / "superpixels" / "seeds.h5", root / "AMSP+S" / "trial0" / "round1" / "merged.h5",
                 root / "AMSP+S" / "trial0" / "round2" / "sieved.h5"]:
        with h5py.File(path) as f:
            assert f.attrs["asal_version"]
            assert f.attrs["stage"]
            json.loads(f.attrs["spec"])
    with h5py.File(root / "AMSP+S" / "trial0" / "round2" / "sieved.h5") as f:
        assert "kneed 0.8.5" in f.attrs["knee_search"]
        assert json.loads(f.attrs["spec"])["threshold"] == "kneedle"


def test_clicks_and_queries(run):
    workdir, _ = run
    root = exp(workdir)
    for method in METHODS:
        clicks = []
        seen = set()
        for rnd in (1, 2):
            answers = pd.read_csv(root / method / "trial0" / f"round{rnd}" / "answers.csv")
            assert len(answers) == 12  # the budget, exactly
            metrics = json.loads((root / method / "trial0" / f"round{rnd}" / "metrics.json").read_text())
            clicks.append(metrics["clicks"])
            assert 0.0 <= metrics["miou"] <= 1.0
            assert sum(metrics["queries_per_class"].values()) == 12
            assert 0.0 < metrics["label_purity"] <= 1.0
            assert metrics["kept_pixels"] <= metrics["labelled_pixels"]
            if method == "SP":  # no sieving: everything kept
                assert metrics["kept_pixels"] == metrics["labelled_pixels"]
                assert metrics["sieve_recall"] == 1.0
            if method == "OracleSP":  # oracle superpixels are pure
                assert metrics["label_purity"] == 1.0
            # No region is paid for twice.
            assert not (set(answers["region"]) & seen)
            seen |= set(answers["region"])
        assert clicks == [24, 36]
    with h5py.File(root / "AMSP+S" / "trial0" / "round2" / "labelled.h5") as f:
        label = f["label"][()]
        query = f["query"][()]
    assert (label >= 0).sum() >= 36  # every query covers at least one base superpixel
    assert len(np.unique(query[query >= 0])) == 36
    sp_answers = pd.read_csv(root / "SP" / "trial0" / "round1" / "answers.csv")
    assert (sp_answers["n_base"] == 1).all()  # SP never merges


def test_oracle_superpixels_are_pure_and_have_their_own_warmup(run):
    workdir, _ = run
    root = exp(workdir)
    with h5py.File(root / "oracle" / "oracle.h5") as f:
        gt_hist = f["gt_hist"][()]
    # Every oracle superpixel is one connected piece of one ground-truth label.
    assert ((gt_hist > 0).sum(axis=1) == 1).all()
    assert (root / "warmup-oracle" / "trial0" / "round0" / "metrics.json").exists()
    answers = pd.read_csv(root / "OracleSP" / "trial0" / "round1" / "answers.csv")
    assert len(answers) == 12


def test_report(run):
    workdir, _ = run
    table = pd.read_csv(exp(workdir) / "report" / "metrics.csv")
    assert set(table["method"]) == set(SHARED_METHODS)
    assert sorted(table["round"].dropna().unique()) == [0, 1, 2]  # Full has no round
    # Round 0 is the shared warm-up: identical for every method on the same superpixels.
    warm = table[(table["round"] == 0) & table["method"].isin(["SP", "AMSP+S"])]
    assert (warm.groupby("trial")["miou"].nunique() == 1).all()
    png = (exp(workdir) / "report" / "miou_vs_clicks.png").read_bytes()
    assert png[:8] == b"\x89PNG\r\n\x1a\n"


def test_second_run_has_nothing_to_do(run):
    workdir, _ = run
    proc = snakemake(workdir, "-n")
    assert "Nothing to be done" in proc.stdout + proc.stderr


def test_forcerun_acquire_plans_only_downstream(run):
    workdir, _ = run
    proc = snakemake(workdir, "-n", "--forcerun", "acquire")
    jobs = planned_jobs(proc.stdout)
    rules = {rule for rule, _ in jobs}
    assert "acquire" in rules
    assert not rules & {"synthesize", "superpixelize", "oracle_table", "warmup"}
    # Merge of round 1 is upstream of acquire of round 1; only round 2 merges follow.
    merges = [out for rule, out in jobs if rule == "merge"]
    assert merges and all("/round2/" in out for out in merges)
    # The warm-up is upstream of every acquire.
    assert not any("/warmup/" in out for _, out in jobs)


def test_changed_parameter_reruns_that_stage_and_what_follows(run):
    workdir, _ = run
    config = shared_config()
    config["merge"]["epsilon"] = 0.2
    write_config(workdir, config)
    try:
        jobs = planned_jobs(snakemake(workdir, "-n").stdout)
    finally:
        write_config(workdir, shared_config())
    rules = {rule for rule, _ in jobs}
    assert "merge" in rules
    assert not rules & {"synthesize", "superpixelize", "oracle_table", "warmup"}
    # SP does not merge, so its artifacts do not depend on epsilon.
    assert not any("/SP/" in out for _, out in jobs)
    # Round 1's merge reads the warm-up, which does not change.
    assert not any(rule in ("train", "predict") and "/warmup/" in out for rule, out in jobs)
    assert not any("/OracleSP/" in out for _, out in jobs)


def test_lint_is_clean(run):
    workdir, _ = run
    proc = snakemake(workdir, "--lint")
    assert "Congratulations" in proc.stdout + proc.stderr


def test_merge_and_acquire_never_read_ground_truth(run, tmp_path):
    """Rerun merge and acquire of round 2 exactly as the workflow ran them, in a copy of the
    results with every ground-truth file removed: same merged regions, same queries."""
    import shlex
    import shutil
    import subprocess
    import sys
    from pathlib import Path

    workdir, _ = run
    copy = tmp_path / "copy"
    shutil.copytree(workdir, copy)
    root = copy / "results" / "tiny"
    shutil.rmtree(root / "dataset" / "labels")
    shutil.rmtree(root / "oracle")
    asal = str(Path(sys.executable).with_name("asal"))
    folder = Path("results/tiny/AMSP+S/trial0/round2")
    for stage, output in [("merge", "merged.h5"), ("acquire", "queries.csv")]:
        log = (copy / "results/logs/tiny" / stage / "AMSP+S/trial0/round2.log").read_text()
        args = shlex.split(log.splitlines()[0].split(f" {stage} ", 1)[1])
        args[args.index("--out") + 1] = str(folder / f"isolated_{output}")
        subprocess.run([asal, stage, *args], cwd=copy, check=True, capture_output=True)
    with h5py.File(copy / folder / "merged.h5") as a, \
            h5py.File(copy / folder / "isolated_merged.h5") as b:
        np.testing.assert_array_equal(a["region"][()], b["region"][()])
    pd.testing.assert_frame_equal(pd.read_csv(copy / folder / "queries.csv"),
                                  pd.read_csv(copy / folder / "isolated_queries.csv"))


def test_sharded_image_stages_give_the_same_artifacts(run, tmp_path):
    """compute.shards splits superpixelize, features and predict into parallel jobs; the
    gathered files equal those of the unsharded run."""
    workdir, _ = run
    config = shared_config()
    config["compute"] = {**config["compute"], "shards": 2}
    write_config(tmp_path, config)
    target = "results/tiny/warmup/trial0/round0/stats.h5"
    proc = snakemake(tmp_path, target)
    for rule in ("gather_superpixels", "gather_features", "gather_stats"):
        assert rule in proc.stdout + proc.stderr, rule
    assert len(list((tmp_path / "results/tiny/warmup/trial0/round0/shards").glob("*.h5"))) == 2
    for rel in ["results/tiny/superpixels/seeds.h5",
                "results/tiny/features/efficientnet_lite0.h5", target]:
        with h5py.File(workdir / rel) as a, h5py.File(tmp_path / rel) as b:
            assert set(a) == set(b)
            for key in a:
                np.testing.assert_array_equal(a[key][()], b[key][()], err_msg=f"{rel}:{key}")


def test_pictures_of_every_round(run):
    workdir, _ = run
    pictures = exp(workdir) / "report" / "pictures"
    expected = {"base_superpixels.png", "merged_superpixels.png", "queries.png",
                "sieved_labels.png", "prediction_vs_truth.png", "merged_by_round.png"}
    for method in METHODS:
        for rnd in (1, 2):
            names = {p.name for p in (pictures / method / "trial0" / f"round{rnd}").glob("*.png")}
            assert expected <= names, (method, rnd, names)
            assert "class_balance.png" in names
    # Sieving happened in AMSP+S: a knee curve is drawn for it.
    assert (pictures / "AMSP+S" / "trial0" / "round2" / "knee.png").exists()
    assert (exp(workdir) / "report" / "rounds.html").exists()


# Opens one result in the report's own viewer (the same call its "eye" buttons make), then
# reports in the page title whether the shown image decoded, for --dump-dom to read back.
_VIEW_SCRIPT = """<script>
setTimeout(function () {
  var key = Object.keys(results).find(function (k) { return k.endsWith(%(suffix)s); });
  app.setView({navbarMode: "resultinfo", content: %(kind)s, contentPath: results[key].data_uri,
               resultPath: key});
  setTimeout(function () {
    var img = document.querySelector('img[src^="data:image/png"]');
    var frame = document.querySelector('iframe[src^="data:text/html"]');
    document.title = "ASAL-VIEW " + key + " img=" +
      (img && img.complete ? img.naturalWidth + "x" + img.naturalHeight : "none") +
      " iframe=" + (frame ? "yes" : "none");
  }, 1500);
}, 1000);
</script>"""


def _view_in_chromium(chromium: str, report: Path, suffix: str, kind: str, shot: Path) -> str:
    """Show one result of the report in headless Chromium; return the page title it set and
    leave a screenshot at `shot`."""
    import subprocess

    html = report.read_text()
    script = _VIEW_SCRIPT % {"suffix": json.dumps(suffix), "kind": json.dumps(kind)}
    at = html.rindex("</body>")
    page = shot.with_suffix(".html")
    page.write_text(html[:at] + script + html[at:])
    args = [chromium, "--headless", "--no-sandbox", "--disable-gpu",
            "--virtual-time-budget=8000", "--window-size=1400,1000"]
    dom = subprocess.run([*args, "--dump-dom", page.as_uri()], check=True,
                         capture_output=True, text=True, timeout=120).stdout
    subprocess.run([*args, f"--screenshot={shot}", page.as_uri()], check=True,
                   capture_output=True, timeout=120)
    m = re.search(r"<title>(ASAL-VIEW[^<]*)</title>", dom)
    assert m, f"the report's viewer did not run in Chromium: {dom[:500]}"
    return m.group(1)


def test_html_report_renders_in_a_browser(run, tmp_path):
    """`snakemake --report` makes one HTML file; in headless Chromium its own viewer shows
    the mIoU plot, a picture of a round and the per-round table (screenshots are kept next
    to the report for a person to look at)."""
    import shutil

    import cv2

    workdir, _ = run
    report = workdir / "report.html"
    snakemake(workdir, "--report", str(report))
    html = report.read_text()
    for needle in ["miou_vs_clicks.png", "rounds.html", "queries.png", "knee.png"]:
        assert needle in html, needle
    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    if chromium is None:
        pytest.skip("chromium is not installed (Debian package 'chromium'); .ci/run installs it")
    plot = cv2.imread(str(exp(workdir) / "report/miou_vs_clicks.png"))
    picture = cv2.imread(str(exp(workdir) / "report/pictures/AMSP+S/trial0/round2/queries.png"))
    views = [("report/miou_vs_clicks.png", "img", plot),
             ("AMSP+S/trial0/round2/queries.png", "img", picture),
             ("report/rounds.html", "html", None)]
    for k, (suffix, kind, source) in enumerate(views):
        shot = workdir / f"report_view{k}.png"
        title = _view_in_chromium(chromium, report, suffix, kind, shot)
        image = cv2.imread(str(shot))
        assert image is not None and image.shape[:2] == (1000, 1400)
        content = image[:, 720:]  # right of the result-info bar
        if kind == "img":
            h, w = source.shape[:2]
            assert f"img={w}x{h}" in title, title  # the very PNG, decoded at its full size
            # ...and drawn: the pane has the picture's many colours, not a blank page.
            assert len(np.unique(content.reshape(-1, 3), axis=0)) > 50
        else:
            assert "iframe=yes" in title, title
            # The table's text: dark pixels in the content pane.
            assert (content.max(axis=2) < 100).sum() > 2000



@pytest.mark.parametrize("name", ["camvid", "camvid_finetune", "cityscapes"])
def test_shipped_configs_validate_and_plan(name, tmp_path):
    """The benchmark configs under workflow/configs pass the schema and give a full plan
    (a dry run needs no data), as `snakemake --configfile PATH` would use them."""
    import yaml

    from workflow_helpers import REPO

    config = yaml.safe_load((REPO / "config.yaml").read_text())
    shipped = yaml.safe_load((REPO / "workflow/configs" / f"{name}.yaml").read_text())
    for key, value in shipped.items():  # Snakemake's merge: nested keys update, others replace
        config[key] = {**config[key], **value} if isinstance(value, dict) and \
            isinstance(config.get(key), dict) else value
    write_config(tmp_path, config)
    jobs = planned_jobs(snakemake(tmp_path, "-n").stdout)
    rules = {rule for rule, _ in jobs}
    assert {"superpixelize", "predict", "merge", "acquire", "query", "sieve", "train",
            "evaluate", "report"} <= rules
    n_train = sum(rule == "train" for rule, _ in jobs)
    methods = [m for m in shipped["methods"] if m != "Full"]
    # warm-up per trial, then one training per method, trial and round
    assert n_train == shipped["trials"] * (1 + len(methods) * shipped["rounds"])
    # the fully supervised ceiling: once per trial
    n_full = sum(rule == "train_full" for rule, _ in jobs)
    assert n_full == (shipped["trials"] if "Full" in shipped["methods"] else 0)


def test_a_method_definition_compares_seeds_and_slic(tmp_path):
    """{superpixels: slic} in a method definition plans SLIC superpixels beside SEEDS, each
    with its own warm-up and oracle table; a bad SLIC setting is refused before any job."""
    config = tiny_config(methods=["SP", "SP-slic"],
                         method_definitions={"SP-slic": {"base": "SP", "superpixels": "slic"}})
    write_config(tmp_path, config)
    jobs = planned_jobs(snakemake(tmp_path, "-n").stdout)
    made = {out for rule, out in jobs if rule in ("superpixelize", "oracle_table", "warmup")}
    assert made == {"results/tiny/superpixels/seeds.h5", "results/tiny/superpixels/slic.h5",
                    "results/tiny/oracle/seeds.h5", "results/tiny/oracle/slic.h5",
                    "results/tiny/warmup/trial0/round0/queries.csv",
                    "results/tiny/warmup-slic/trial0/round0/queries.csv"}
    config["superpixels"]["color_space"] = "authors"  # SEEDS only
    write_config(tmp_path, config)
    proc = snakemake(tmp_path, "-n", check=False)
    assert proc.returncode != 0
    assert "superpixels.color_space" in proc.stdout + proc.stderr


def test_allow_absent_classes_reaches_only_oracle_table(tmp_path):
    """The switch is a flag of oracle_table, and of the dataset check as a resource (which
    reruns nothing): every other job's command stays as it is, so setting it reruns nothing
    else."""
    def commands(allow):
        config = tiny_config()
        config["dataset"]["allow_absent_classes"] = allow
        write_config(tmp_path, config)
        out = snakemake(tmp_path, "-n", "-p").stdout
        return [line.split("Shell command: ", 1)[1] for line in out.splitlines()
                if line.startswith("Shell command: asal ")]

    off, on = commands(False), commands(True)
    assert len(off) == len(on) > 0
    check = [c for c in on if c.startswith("asal check-dataset")]
    assert len(check) == 1 and " --allow-absent-classes " in check[0]
    off = [c for c in off if not c.startswith("asal check-dataset")]
    on = [c for c in on if not c.startswith("asal check-dataset")]
    only_off, only_on = sorted(set(off) - set(on)), sorted(set(on) - set(off))
    assert only_off and all(c.startswith("asal oracle-table") for c in only_off)
    assert sorted(c.replace(" --allow-absent-classes", "") for c in only_on) == only_off
