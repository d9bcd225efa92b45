"""A base superpixel size per method, and the sweep that makes one method per listed method and
size (the paper's Figure 3 c, d): names, kinds, settings, warm-ups and sieving sizes."""

import pytest

from asal.experiment.methods import (ConfigError, check_methods, method_info, stage_settings,
                                     superpixel_kind, superpixel_settings, superpixel_size)
from asal.store.layout import warmup_method

from test_methods import make_config


def sweep_config(**extra):
    return make_config(methods=["SP", "AMSP+S", "Full"], sweep={"superpixel_size": [16, 64, 256]},
                       **extra)


def test_a_sweep_runs_every_listed_method_at_every_size_and_full_once():
    # the experiment's own size (superpixels.size, 64) keeps the plain names, so its results
    # are those of an experiment without the sweep
    assert check_methods(sweep_config()) == [
        "SP@16px", "SP", "SP@256px", "AMSP+S@16px", "AMSP+S", "AMSP+S@256px", "Full"]


def test_the_experiments_own_size_keeps_the_plain_kind_and_shares_its_warmup():
    cfg = sweep_config()  # superpixels.size is 64
    kinds = [superpixel_kind(cfg, m) for m in ("SP@16px", "SP", "AMSP+S@256px")]
    assert kinds == ["seeds@16px", "seeds", "seeds@256px"]
    assert warmup_method("seeds@16px") == "warmup-seeds@16px"
    # the warm-up knows its kind and size back
    assert superpixel_kind(cfg, "warmup-seeds@16px") == "seeds@16px"
    assert superpixel_size(cfg, "warmup-seeds@16px") == 16
    assert superpixel_size(cfg, "warmup") == 64
    assert [superpixel_size(cfg, m) for m in ("SP@16px", "SP", "AMSP+S@256px")] == \
        [16, 64, 256]


def test_a_sized_kind_makes_superpixels_of_its_size_with_the_experiments_other_settings():
    cfg = sweep_config()
    cfg["superpixels"].update(levels=4, algorithm="seeds")
    assert superpixel_settings(cfg, "seeds@16px") == {"size": 16, "levels": 4,
                                                      "algorithm": "seeds"}
    assert superpixel_settings(cfg, "seeds") == {"size": 64, "levels": 4, "algorithm": "seeds"}
    with pytest.raises(ConfigError, match="<algorithm>@<size>px"):
        superpixel_settings(cfg, "seeds@16")


def test_sieving_skips_regions_under_twice_each_sizes_own_target():
    """min_size null is resolved by the sieve stage from the superpixel file it sieves: the
    authors' 512 px at 256 px superpixels, 32 px at 16 px."""
    from asal.method.sieving import SieveSpec

    cfg = sweep_config()
    assert stage_settings(cfg, "AMSP+S@256px", "sieve")["min_size"] is None
    for kind, wanted in (("seeds@256px", 512), ("seeds@16px", 32), ("seeds", 128)):
        target = superpixel_settings(cfg, kind)["size"]  # what superpixelize records
        assert SieveSpec().for_superpixels({"target_size": target}).min_size == wanted


def test_a_method_definition_may_set_its_size():
    cfg = make_config(methods=["SP", "SP-big"],
                      method_definitions={"SP-big": {"base": "SP", "superpixel_size": 256}})
    assert superpixel_kind(cfg, "SP-big") == "seeds@256px"
    assert superpixel_kind(cfg, "SP") == "seeds"
    # the oracle's connected components have no size to set
    cfg = make_config(methods=["O"], method_definitions={
        "O": {"base": "OracleSP", "superpixel_size": 16}})
    assert superpixel_kind(cfg, "O") == "oracle"


def test_a_size_listed_twice_is_refused():
    with pytest.raises(ConfigError, match="listed twice"):
        check_methods(make_config(methods=["SP"], sweep={"superpixel_size": [16, 16]}))


def test_the_report_learns_each_methods_base_size_kind_label_and_paper_number():
    cfg = sweep_config(report={"labels": {"SP": "superpixels"}, "paper": {"SP@16px": 60.0}})
    info = method_info(cfg, ["SP@16px", "AMSP+S"])
    assert info["SP@16px"] == {"base": "SP", "size": 16, "kind": "seeds@16px",
                               "label": "superpixels @16px", "paper": 60.0}
    assert info["AMSP+S"] == {"base": "AMSP+S", "size": 64, "kind": "seeds",
                              "label": "AMSP+S @64px", "paper": None}
