"""The report page a reader opens (report/rounds.html): the experiment's figure first, one
verdict line per method, then narrow tables that fit a browser window: results, the paper's
rows where the config gives them, diagnostics, queries and IoU per class.

Counts (rounds, clicks, trials, pixels) print as integers, shares as percentages with one
decimal; the figure is embedded, so the page is one file that also opens inside
`snakemake --report`.
"""

from __future__ import annotations

import base64
from html import escape

import numpy as np
import pandas as pd

STYLE = """body{font-family:sans-serif;font-size:14px;max-width:1250px;margin:12px auto;
padding:0 12px;color:#222} h1{font-size:20px} h2{font-size:16px;margin-top:26px}
p.note{color:#555;font-size:12.5px;max-width:1000px} ul.verdicts li{margin:3px 0}
table.asal{border-collapse:collapse;margin:6px 0 4px} table.asal td,table.asal th{padding:3px
8px;border-bottom:1px solid #ddd;text-align:right;white-space:nowrap} table.asal th{background:
#f3f3f3;font-weight:600} table.asal td:first-child,table.asal th:first-child{text-align:left}
p.warning{background:#fff4e5;border-left:4px solid #e8a33d;padding:6px 10px;
max-width:1000px} .above{color:#0a7d2c;font-weight:600} .below{color:#b3261e;font-weight:600} img.figure{
max-width:100%;border:1px solid #ddd}"""

DIAGNOSTIC_NOTE = (
    "agreement: theta_(t-1)'s per-superpixel agreement with the dominant ground-truth label "
    "over the pool (what merging and sieving lean on); merged purity: share of pool pixels "
    "carrying their merged region's dominant label; query purity: the same over the round's "
    "queries; label purity: share of labelled pixels whose label is right; removed wrong / kept "
    "right: share of wrong labelled pixels sieving removed and of right ones it kept; "
    "clicks on void: share of the round's clicks answered void (paid, teaching nothing); "
    "clicks per answer: above 1 where an answer names several classes; "
    "confidence right / wrong: the model's mean confidence in the given label.")


def _cell(value, kind: str) -> str:
    if value is None or (isinstance(value, float) and np.isnan(value)):
        return ""
    if kind == "int":
        return f"{int(round(float(value))):,}"
    if kind == "pct":
        return f"{100 * float(value):.1f}"
    if kind == "signed":
        return f"{float(value):+.1f}"
    if kind == "num":
        return f"{float(value):.1f}"
    if kind == "num2":
        return f"{float(value):.2f}"
    return escape(str(value))


def html_table(frame: pd.DataFrame, kinds: dict[str, str], names: dict[str, str]) -> str:
    """A table of the `kinds` columns of `frame` (in that order), headed by `names`, each
    cell formatted by its kind: int, pct (a 0..1 share as %), num, signed, text."""
    cols = [c for c in kinds if c in frame.columns]
    head = "".join(f"<th>{escape(names.get(c, c))}</th>" for c in cols)
    body = []
    for _, row in frame.iterrows():
        cells = []
        for c in cols:
            text = _cell(row[c], kinds[c])
            css = ""
            if c == "verdict" and text in ("above 0", "below 0"):
                css = f' class="{text.split()[0]}"'
            cells.append(f"<td{css}>{text}</td>")
        body.append("<tr>" + "".join(cells) + "</tr>")
    return f'<table class="asal"><tr>{head}</tr>' + "".join(body) + "</table>"


def _interval(row) -> str:
    if pd.isna(row.get("ci_low")):
        return ""
    return f"{row['ci_low']:+.1f} to {row['ci_high']:+.1f}"


def results_table(rounds: pd.DataFrame, paired: pd.DataFrame | None) -> str:
    """Per method and round: clicks, mIoU mean and range over trials, % of Full, the paired
    difference to the baseline with its 95% interval."""
    shown = rounds.copy()
    shown["range"] = [f"{100 * a:.1f}-{100 * b:.1f}" if pd.notna(a) else ""
                      for a, b in zip(shown["miou_min"], shown["miou_max"])]
    shown["diff"] = np.nan
    shown["interval"] = ""
    if paired is not None and len(paired):
        key = paired.set_index(["method", "round"])
        for k, row in shown.iterrows():
            if (row["method"], row["round"]) in key.index:
                hit = key.loc[(row["method"], row["round"])]
                shown.at[k, "diff"] = 100 * hit["diff_mean"]
                shown.at[k, "interval"] = _interval({"ci_low": 100 * hit["ci_low"],
                                                     "ci_high": 100 * hit["ci_high"]})
    kinds = {"method": "text", "round": "int", "clicks": "int", "trials": "int", "miou": "pct",
             "range": "text", "pct_of_full": "num", "diff": "signed", "interval": "text"}
    names = {"miou": "mIoU %", "range": "min-max", "pct_of_full": "% of Full",
             "diff": "diff to baseline", "interval": "95% CI"}
    return html_table(shown, kinds, names)


def diagnostics_table(rounds: pd.DataFrame) -> str:
    shown = rounds.copy()
    if {"confidence_right", "confidence_wrong"} <= set(shown.columns):
        shown["confidence"] = [f"{a:.2f} / {b:.2f}" if pd.notna(a) else ""
                               for a, b in zip(shown["confidence_right"],
                                               shown["confidence_wrong"])]
    if {"round_clicks", "round_queries"} <= set(shown.columns):
        shown["clicks_per_answer"] = shown["round_clicks"] / shown["round_queries"]
    kinds = {"method": "text", "round": "int", "model_agreement": "pct",
             "merged_purity": "pct", "query_purity": "pct", "label_purity": "pct",
             "mean_query_size": "int", "void_share": "pct", "clicks_per_answer": "num2",
             "sieve_removed_wrong": "pct", "sieve_kept_right": "pct", "confidence": "text",
             "round_seconds": "int"}
    names = {"model_agreement": "agreement %", "merged_purity": "merged purity %",
             "query_purity": "query purity %", "label_purity": "label purity %",
             "mean_query_size": "query size px", "void_share": "clicks on void %",
             "clicks_per_answer": "clicks per answer",
             "sieve_removed_wrong": "removed wrong %",
             "sieve_kept_right": "kept right %", "confidence": "confidence right / wrong",
             "round_seconds": "annotator s"}
    return html_table(shown, kinds, names)


def method_table(rows: pd.DataFrame) -> str:
    """The paper's rows: each method at the last round beside the paper's number."""
    shown = rows.copy()
    shown["range"] = [f"{a:.1f}-{b:.1f}" for a, b in zip(shown["miou_min"], shown["miou_max"])]
    shown["interval"] = [_interval(r) for _, r in shown.iterrows()]
    if "diff2" in shown:
        shown["interval2"] = [_interval({"ci_low": r["ci2_low"], "ci_high": r["ci2_high"]})
                              for _, r in shown.iterrows()]
    kinds = {"label": "text", "superpixel_area": "int", "clicks": "int", "trials": "int",
             "paper": "num", "miou": "num", "range": "text", "diff": "signed",
             "interval": "text", "verdict": "text", "diff2": "signed", "interval2": "text",
             "mean_query_size": "int",
             "pixels_per_click": "int", "seconds_per_click": "num"}
    if shown["paper"].isna().all():
        kinds.pop("paper")
    if shown["superpixel_area"].isna().all():
        kinds.pop("superpixel_area")
    names = {"label": "method", "superpixel_area": "superpixel px", "paper": "paper mIoU %",
             "miou": "asal mIoU %", "range": "min-max", "diff": "diff to baseline",
             "interval": "95% CI", "diff2": "diff to 2nd baseline", "interval2": "95% CI ",
             "mean_query_size": "query size px",
             "pixels_per_click": "labelled px per click",
             "seconds_per_click": "annotator s per click"}
    return html_table(shown, kinds, names)


def count_table(frame: pd.DataFrame, kind: str = "num") -> str:
    shown = frame.reset_index().rename(columns={"index": "class"})
    kinds = {c: ("text" if c == "class" else kind) for c in shown.columns}
    return html_table(shown, kinds, {})


def write_page(path, *, title: str, what_ran: str, figure_png: bytes | None,
               figure_caption: str, verdicts: list[str], sections: list[tuple[str, str, str]],
               atomic_path, warnings: list[str] = ()) -> None:
    """The page: title, what ran, warnings, the figure, the verdicts, then (heading, note,
    html) sections."""
    parts = [f"<h1>{escape(title)}</h1>", f'<p class="note">{escape(what_ran)}</p>']
    parts += [f'<p class="warning">Warning: {escape(w)}</p>' for w in warnings]
    if figure_png:
        data = base64.b64encode(figure_png).decode()
        parts.append(f'<img class="figure" alt="{escape(figure_caption)}" '
                     f'src="data:image/png;base64,{data}">')
        parts.append(f'<p class="note">{escape(figure_caption)}</p>')
    if verdicts:
        items = "".join(f"<li>{_marked(v)}</li>" for v in verdicts)
        parts.append(f'<h2>Verdicts</h2><ul class="verdicts">{items}</ul>')
    for heading, note, html in sections:
        parts.append(f"<h2>{escape(heading)}</h2>")
        if note:
            parts.append(f'<p class="note">{escape(note)}</p>')
        parts.append(html)
    page = (f'<!DOCTYPE html><html><head><meta charset="utf-8"><title>{escape(title)}</title>'
            f"<style>{STYLE}</style></head><body>{''.join(parts)}</body></html>")
    with atomic_path(path) as tmp:
        tmp.write_text(page)


def _marked(line: str) -> str:
    text = escape(line)
    for word in ("above 0", "below 0"):
        text = text.replace(word, f'<span class="{word.split()[0]}">{word}</span>')
    return text
