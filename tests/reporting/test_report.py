"""Unit tests of asal.reporting.report: the round table and the note on classes left out of mIoU."""

import json

import pytest


def _metrics_files(tmp_path, records: list[dict]) -> list[str]:
    """Each metrics record written as <method>.json, as evaluate writes them."""
    paths = []
    for m in records:
        path = tmp_path / f"{m['method']}.json"
        path.write_text(json.dumps(m))
        paths.append(str(path))
    return paths


def _report(tmp_path, paths: list[str], **options):
    """report() into tmp_path/out: metrics.csv, plot.png, rounds.html, rounds.csv."""
    from asal.reporting.report import report

    out = tmp_path / "out"
    out.mkdir(exist_ok=True)
    report(paths, str(out / "metrics.csv"), str(out / "plot.png"),
           out_rounds=str(out / "rounds.html"), out_rounds_csv=str(out / "rounds.csv"),
           **options)
    return out


def test_round_table_means_over_trials():
    import pandas as pd

    from asal.reporting.report import round_table

    table = pd.DataFrame({
        "method": ["A", "A", "A", "A"], "trial": [0, 1, 0, 1], "round": [0, 0, 1, 1],
        "clicks": [10, 10, 20, 20], "miou": [0.2, 0.4, 0.5, 0.7],
        "label_purity": [0.9, 0.8, 0.7, 0.6], "queries_sky": [3, 5, 1, 2]})
    rounds = round_table(table)
    assert list(rounds["round"]) == [0, 1]
    assert rounds["miou"].tolist() == pytest.approx([0.3, 0.6])
    assert rounds["miou_min"].tolist() == pytest.approx([0.2, 0.5])
    assert rounds["miou_max"].tolist() == pytest.approx([0.4, 0.7])
    assert rounds["label_purity"].tolist() == pytest.approx([0.85, 0.65])
    assert rounds["queries_sky"].tolist() == pytest.approx([4.0, 1.5])


def test_report_says_which_classes_were_left_out_of_miou(tmp_path):
    import pandas as pd

    out = _report(tmp_path, _metrics_files(tmp_path, [
        {"method": method, "trial": trial, "round": rnd, "clicks": 10 * (rnd + 1),
         "miou": miou, "pixel_accuracy": 0.9,
         "iou": {"road": miou, "sky": miou, "rider": None}, "classes_absent": ["rider"]}
        for method, trial, rnd, miou in [("warmup", 0, 0, 0.5), ("SP", 0, 1, 0.75)]]))
    table = pd.read_csv(out / "metrics.csv")
    assert table["classes_absent"].tolist() == ["rider", "rider"]
    assert table["iou_rider"].isna().all()
    html = (out / "rounds.html").read_text()
    assert "Left out of mIoU (no ground-truth pixel in the evaluation split, IoU undefined): " \
           "rider." in html


def test_report_note_when_no_class_is_absent():
    import pandas as pd

    from asal.reporting.report import absent_classes, absent_note

    assert absent_classes(pd.DataFrame({"classes_absent": ["", "a;b", "b", None]})) == ["a", "b"]
    assert absent_classes(pd.DataFrame({"miou": [0.1]})) == []  # metrics from before the key
    assert absent_note([]).startswith("Every class has ground truth")


def test_a_person_s_seconds_give_mioU_against_minutes_and_seconds_per_click(tmp_path):
    """Answers that carry seconds: the plot gains a panel of mIoU against annotator minutes
    and the page states seconds per click per method (the cost that decides whether larger,
    merged, regions save a person's time)."""
    import cv2

    from asal.reporting.report import report

    rows = [("warmup", 0, 0.30, 100.0), ("SP", 1, 0.40, 200.0), ("AMSP+S", 1, 0.42, 320.0)]
    paths = _metrics_files(tmp_path, [
        {"method": method, "trial": 0, "round": rnd, "clicks": 10 * (rnd + 1),
         "miou": miou, "pixel_accuracy": 0.9, "iou": {"road": miou},
         "round_seconds": seconds - 100.0 if rnd else seconds,
         "annotation_seconds": seconds, "labelled_pixels": 500, "mean_query_size": 25.0}
        for method, rnd, miou, seconds in rows])
    out = _report(tmp_path, paths, baseline="SP")
    html = (out / "rounds.html").read_text()
    assert "annotator s per click" in html
    # AMSP+S: 320 s over 20 clicks = 16.0 s per click; SP: 200 s / 20 = 10.0
    assert "<td>16.0</td>" in html and "<td>10.0</td>" in html
    three_panels = cv2.imread(str(out / "plot.png")).shape[1]
    for p in paths:  # the same without seconds: two panels (clicks, paired differences)
        m = json.loads(open(p).read())
        m.pop("round_seconds"), m.pop("annotation_seconds")
        open(p, "w").write(json.dumps(m))
    report(paths, str(out / "metrics.csv"), str(out / "plot.png"), baseline="SP")
    assert cv2.imread(str(out / "plot.png")).shape[1] < three_panels


def test_csv_tables_write_counts_as_integers_beside_full(tmp_path):
    """Full has no round or clicks; the counts of the other rows stay integers in both CSV
    tables (1 and 20, not 1.0 and 20.0), Full's cells empty."""
    import pandas as pd

    out = _report(tmp_path, _metrics_files(tmp_path, [
        {"method": method, "trial": trial, "round": rnd,
         "clicks": None if rnd is None else 10 * (rnd + 1), "miou": miou,
         "pixel_accuracy": 0.9, "iou": {"road": miou},
         **({} if method == "Full" else {"queries_per_class": {"road": 7, "void": 3},
                                         "round_clicks": 10, "round_queries": 10,
                                         "clicks_on_void": 3})}
        for method, trial, rnd, miou in [("warmup", 0, 0, 0.5), ("SP", 0, 1, 0.6),
                                         ("Full", 0, None, 0.8)]]))
    metrics = pd.read_csv(out / "metrics.csv", dtype=str, keep_default_na=False)
    sp = metrics[metrics["method"] == "SP"]  # the warm-up repeated as its round 0
    assert sp["round"].tolist() == ["0", "1"] and sp["clicks"].tolist() == ["10", "20"]
    assert sp["trial"].tolist() == ["0", "0"]
    # counts of queries, clicks and void answers too; the void share is a share
    for column in ("queries_road", "queries_void", "round_clicks", "clicks_on_void"):
        assert all(v.isdigit() for v in sp[column]), (column, sp[column].tolist())
    assert sp["void_share"].tolist() == ["0.3", "0.3"]
    full = metrics[metrics["method"] == "Full"].iloc[0]
    assert (full["round"], full["clicks"]) == ("", "")
    rounds = pd.read_csv(out / "rounds.csv", dtype=str, keep_default_na=False)
    sp = rounds[rounds["method"] == "SP"]
    assert sp["round"].tolist() == ["0", "1"] and sp["clicks"].tolist() == ["10", "20"]
    assert sp["trials"].tolist() == ["1", "1"]


def test_the_majority_line_is_drawn_only_near_the_curves():
    """Under half the lowest curve (CamVid: 2.7% against curves at 46-58%) the dotted line
    would stretch the axis to 0; it is then named in the legend instead."""
    import pandas as pd

    from asal.reporting.report import trivial_far_below

    summary = pd.DataFrame({"miou_min": [0.46, 0.55], "miou_mean": [0.48, 0.56]})
    assert trivial_far_below(summary, 0.027)
    assert not trivial_far_below(summary, 0.23)   # 0.23 >= 0.46 / 2: drawn
    assert trivial_far_below(summary, 0.2299)
    assert not trivial_far_below(pd.DataFrame({"miou_min": [float("nan")]}), 0.01)
