"""`asal show`: a readable summary of any artifact, without reading a huge dataset whole."""

import numpy as np
import pandas as pd

from asal.reporting import summary
from asal.store import artifacts


def test_hdf5_summary_names_what_made_it_and_counts(tmp_path):
    path = tmp_path / "merged.h5"
    attrs = artifacts.provenance("merge", {"epsilon": 0.1}, seed=3, n_regions=2)
    artifacts.write_table(path, "merge", {"region": np.array([0, 0, 2, 2, 2])}, attrs)
    text = summary.describe(str(path))
    assert "stage: merge" in text and "seed: 3" in text and '"epsilon": 0.1' in text
    assert "region: shape (5,), int64" in text
    # min 0, max 2, mean (0 + 0 + 2 + 2 + 2) / 5 = 1.2
    assert "min 0, max 2, mean 1.2" in text
    assert "first rows: [0 0 2 2 2]" in text


def test_hdf5_summary_of_a_huge_dataset_reads_the_first_rows_in_blocks(tmp_path, monkeypatch):
    path = tmp_path / "stats.h5"
    values = np.arange(100, dtype=np.float64)
    values[3] = np.nan  # not counted
    artifacts.write_table(path, "predict", {"u_sum": values},
                          artifacts.provenance("predict"))
    monkeypatch.setattr(summary, "_SUMMARY_VALUES", 10)
    monkeypatch.setattr(summary, "_BLOCK_VALUES", 4)
    text = summary.describe(str(path))
    # first 10 rows without the NaN: 0 1 2 4 5 6 7 8 9 -> mean 42 / 9
    assert f"min 0, max 9, mean {42 / 9:.6g} (over the first 10 of 100 rows)" in text


def test_csv_summary(tmp_path):
    path = tmp_path / "queries.csv"
    pd.DataFrame({"query": [0, 1, 2], "region": [5, 9, 1]}).to_csv(path, index=False)
    text = summary.describe(str(path), rows=2)
    assert "3 rows, 2 columns" in text and "columns: query, region" in text
