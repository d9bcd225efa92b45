"""Unit tests of asal.store.artifacts: HDF5 round trip, atomic writes, readable errors."""

import json

import numpy as np
import pytest

from asal.store.artifacts import (
    ArtifactError,
    atomic_path,
    open_h5,
    provenance,
    read_attrs,
    read_json,
    read_table,
    write_h5,
    write_json,
)


def test_write_h5_read_table_round_trip(tmp_path):
    path = tmp_path / "sub" / "table.h5"  # parent made on the fly
    big = np.arange(70000, dtype=np.int64)  # > 65536 elements: the compressed path
    arrays = {"region": np.array([0, 0, 2, 3], dtype=np.int64),
              "prob_sum": np.array([[0.25, 0.75], [1.5, 0.5]]),
              "kept": np.array([True, False, True]),
              "big": big}
    attrs = provenance("merge", {"epsilon": 0.1, "mode": "greedy"}, seed=7,
                       kneed="0.9.0", n_classes=19, shape=[2, 3])
    write_h5(path, arrays, attrs)
    got, got_attrs = read_table(path, "merge")
    assert set(got) == set(arrays)
    for k, v in arrays.items():
        np.testing.assert_array_equal(got[k], v)
        assert got[k].dtype == v.dtype
    assert got_attrs["stage"] == "merge"
    assert json.loads(got_attrs["spec"]) == {"epsilon": 0.1, "mode": "greedy"}
    assert got_attrs["seed"] == 7
    assert got_attrs["kneed"] == "0.9.0"
    assert got_attrs["n_classes"] == 19
    assert json.loads(got_attrs["shape"]) == [2, 3]
    assert "asal_version" in got_attrs and "created_utc" in got_attrs
    # subset of keys
    sub, _ = read_table(path, "merge", ("region",))
    assert list(sub) == ["region"]
    # read_attrs agrees
    assert read_attrs(path)["stage"] == "merge"
    # nothing but the target left in the folder
    assert [p.name for p in path.parent.iterdir()] == ["table.h5"]


def test_read_table_wrong_stage_is_artifact_error(tmp_path):
    path = tmp_path / "t.h5"
    write_h5(path, {"a": np.zeros(3)}, provenance("predict"))
    with pytest.raises(ArtifactError, match="made by stage 'predict', expected 'merge'"):
        read_table(path, "merge")


def test_open_h5_wrong_stage_is_artifact_error(tmp_path):
    path = tmp_path / "t.h5"
    write_h5(path, {"a": np.zeros(3)}, provenance("predict"))
    with pytest.raises(ArtifactError) as info:
        open_h5(path, expect_stage="superpixelize")
    assert str(path) in str(info.value)


def test_read_table_missing_keys(tmp_path):
    path = tmp_path / "t.h5"
    write_h5(path, {"a": np.zeros(3)}, provenance("predict"))
    with pytest.raises(ArtifactError, match="lacks datasets") as info:
        read_table(path, "predict", ("a", "b"))
    assert "'b'" in str(info.value) and str(path) in str(info.value)


def test_open_h5_right_stage_returns_open_file(tmp_path):
    path = tmp_path / "t.h5"
    write_h5(path, {"a": np.arange(3)}, provenance("predict"))
    with open_h5(path, expect_stage="predict") as f:
        np.testing.assert_array_equal(f["a"][()], [0, 1, 2])


def test_failed_write_leaves_nothing(tmp_path):
    path = tmp_path / "out.h5"
    # an object array cannot be stored by h5py: the write fails inside atomic_path
    with pytest.raises(Exception):
        write_h5(path, {"bad": np.array([object(), object()], dtype=object)},
                 provenance("merge"))
    assert not path.exists()
    assert list(tmp_path.iterdir()) == []  # no temporary file left behind


def test_exception_inside_atomic_path_leaves_nothing(tmp_path):
    path = tmp_path / "x.json"
    with pytest.raises(RuntimeError, match="boom"):
        with atomic_path(path) as tmp:
            tmp.write_text("half written")
            assert tmp.parent == path.parent and tmp != path
            raise RuntimeError("boom")
    assert list(tmp_path.iterdir()) == []


def test_failed_write_keeps_the_previous_file(tmp_path):
    path = tmp_path / "out.h5"
    write_h5(path, {"a": np.array([1, 2, 3])}, provenance("merge"))
    with pytest.raises(Exception):
        write_h5(path, {"bad": np.array([object()], dtype=object)}, provenance("merge"))
    got, _ = read_table(path, "merge")
    np.testing.assert_array_equal(got["a"], [1, 2, 3])
    assert [p.name for p in tmp_path.iterdir()] == ["out.h5"]


def test_open_h5_garbage_file_names_the_path(tmp_path):
    path = tmp_path / "garbage.h5"
    path.write_bytes(b"this is not an HDF5 file\x00\x01\x02" * 10)
    with pytest.raises(ArtifactError) as info:
        open_h5(path)
    assert str(path) in str(info.value)


def test_open_h5_missing_file(tmp_path):
    path = tmp_path / "nope.h5"
    with pytest.raises(ArtifactError, match="missing") as info:
        open_h5(path)
    assert str(path) in str(info.value)
    with pytest.raises(ArtifactError, match="missing"):
        read_json(tmp_path / "nope.json")


def test_write_json_round_trip(tmp_path):
    path = tmp_path / "a.json"
    write_json(path, {"b": 1, "a": [1, 2]})
    assert read_json(path) == {"b": 1, "a": [1, 2]}


def test_stale_temporaries_of_a_killed_writer_are_cleared(tmp_path):
    from asal.store.artifacts import atomic_path

    target = tmp_path / "x.h5"
    stale = tmp_path / ".x.h5.abc123.tmp"
    stale.write_bytes(b"half")
    other = tmp_path / ".y.h5.abc123.tmp"  # another target's temporary is not ours to touch
    other.write_bytes(b"half")
    with atomic_path(target) as tmp:
        tmp.write_bytes(b"whole")
    assert target.read_bytes() == b"whole"
    assert not stale.exists() and other.exists()


def test_published_files_are_readable_by_others(tmp_path):
    import os
    import stat

    from asal.store.artifacts import atomic_path

    target = tmp_path / "x.csv"
    with atomic_path(target) as tmp:
        tmp.write_text("a\n")
    umask = os.umask(0)
    os.umask(umask)
    assert stat.S_IMODE(target.stat().st_mode) == 0o666 & ~umask
