"""Unit tests of asal.store.round_tables: superpixels made for another pool or other classes are
refused by name before a stage reads them."""

import json
from types import SimpleNamespace

import pytest

from asal.store.artifacts import ArtifactError
from asal.store.round_tables import check_classes, check_pool


def superpixels(names, classes):
    attrs = {} if classes is None else {"classes": json.dumps(classes)}
    return SimpleNamespace(names=names, attrs=attrs)


DATASET = SimpleNamespace(pool=["a", "b"], classes=["road", "car"])


def test_same_pool_and_classes_pass():
    check_pool(DATASET, superpixels(["a", "b"], ["road", "car"]), "sp.h5")
    with pytest.raises(ArtifactError, match=r"old\.h5: made under classes None"):
        check_classes(DATASET, superpixels(["x"], None), "old.h5")  # no file lacks them


def test_other_pool_is_refused_naming_the_file():
    with pytest.raises(ArtifactError, match=r"sp\.h5: made for another pool .*\(1 vs 2 images\)"):
        check_pool(DATASET, superpixels(["a"], ["road", "car"]), "sp.h5")


def test_other_classes_are_refused_naming_both():
    with pytest.raises(ArtifactError, match=r"sp\.h5: made under classes .*road.*sky.*rerun"):
        check_classes(DATASET, superpixels(["a", "b"], ["road", "sky"]), "sp.h5")
