"""Unit tests of asal.experiment.methods: named methods, per-round stage settings, user definitions."""

import copy

import pytest

from asal.experiment.methods import (
    BUILTIN_METHODS,
    ConfigError,
    all_methods,
    check_methods,
    stage_settings,
)


def make_config(methods=("SP", "AMSP+S"), **extra):
    cfg = {
        "methods": list(methods),
        "superpixels": {"size": 64, "algorithm": "seeds"},
        "merge": {"mode": "greedy", "epsilon": 0.1, "seeds": "all", "seed_fraction": 1.0},
        "acquire": {"function": "classbal_pixel", "normalize": "none"},
        "sieve": {"threshold": "kneedle", "n_points": 20, "min_size": None, "scope": "all",
                  "sensitivity": 1.0},
    }
    cfg.update(extra)
    return cfg


FULL_MERGE = {"mode": "greedy", "epsilon": 0.1, "seeds": "all", "seed_fraction": 1.0}
# min_size None: the sieve stage resolves it from its superpixels (SieveSpec.for_superpixels)
FULL_SIEVE = {"threshold": "kneedle", "n_points": 20, "min_size": None, "scope": "all",
              "sensitivity": 1.0}


# ---------------------------------------------------------------- stage_settings

def test_sp_has_no_merge_and_no_sieve():
    cfg = make_config()
    assert stage_settings(cfg, "SP", "merge", 1) == {"mode": "none"}
    assert stage_settings(cfg, "SP", "sieve") == {"threshold": "none"}
    assert stage_settings(cfg, "SP", "acquire") == {"function": "classbal_pixel",
                                                    "normalize": "none"}


def test_amsp_s_merges_every_round_and_sieves():
    cfg = make_config()
    for r in (1, 2, 3, 7):
        assert stage_settings(cfg, "AMSP+S", "merge", r) == FULL_MERGE
    assert stage_settings(cfg, "AMSP+S", "sieve") == FULL_SIEVE


def test_msp_s_merges_until_round_2():
    cfg = make_config(methods=["MSP+S"])
    assert stage_settings(cfg, "MSP+S", "merge", 1) == FULL_MERGE
    assert stage_settings(cfg, "MSP+S", "merge", 2) == FULL_MERGE
    assert stage_settings(cfg, "MSP+S", "merge", 3) == {"mode": "none"}
    assert stage_settings(cfg, "MSP+S", "merge", 5) == {"mode": "none"}
    assert stage_settings(cfg, "MSP+S", "sieve") == FULL_SIEVE


def test_sp_s_sieves_without_merging():
    cfg = make_config()
    assert stage_settings(cfg, "SP+S", "merge", 1) == {"mode": "none"}
    assert stage_settings(cfg, "SP+S", "sieve") == FULL_SIEVE


def test_baselines_acquisition_functions():
    cfg = make_config()
    assert stage_settings(cfg, "BvSB", "acquire")["function"] == "bvsb"
    assert stage_settings(cfg, "ClassBal", "acquire")["function"] == "classbal_superpixel"
    assert stage_settings(cfg, "Random", "acquire")["function"] == "random"
    assert stage_settings(cfg, "Entropy", "acquire")["function"] == "entropy"
    assert stage_settings(cfg, "BvSB", "sieve") == {"threshold": "none"}


def test_min_size_is_passed_as_given():
    """null stays null (the sieve stage makes it twice its superpixels' size, so a stage run
    by hand agrees with the workflow); a number stays that number."""
    cfg = make_config()
    assert stage_settings(cfg, "AMSP+S", "sieve")["min_size"] is None
    cfg["sieve"]["min_size"] = 300
    assert stage_settings(cfg, "AMSP+S", "sieve")["min_size"] == 300


def test_stage_settings_does_not_mutate_config():
    cfg = make_config()
    before = copy.deepcopy(cfg)
    stage_settings(cfg, "AMSP+S", "sieve")
    stage_settings(cfg, "MSP+S", "merge", 3)
    assert cfg == before


def test_warmup_uses_experiment_settings():
    cfg = make_config()
    assert stage_settings(cfg, "warmup", "merge", 0) == FULL_MERGE
    assert stage_settings(cfg, "warmup", "sieve") == FULL_SIEVE


def test_irrelevant_settings_dropped_when_stage_off():
    # changing epsilon must not change SP's merge settings (so nothing reruns)
    a = make_config()
    b = make_config()
    b["merge"]["epsilon"] = 0.3
    assert stage_settings(a, "SP", "merge", 1) == stage_settings(b, "SP", "merge", 1)
    b["sieve"]["n_points"] = 40
    assert stage_settings(a, "SP", "sieve") == stage_settings(b, "SP", "sieve")


# ---------------------------------------------------------------- check_methods

def test_check_methods_ok():
    assert check_methods(make_config(methods=["SP", "MSP+S", "AMSP+S"])) == \
        ["SP", "MSP+S", "AMSP+S"]


def test_check_methods_unknown_name():
    with pytest.raises(ConfigError, match="Nope"):
        check_methods(make_config(methods=["SP", "Nope"]))


def test_check_methods_reserved_warmup():
    with pytest.raises(ConfigError, match="reserved"):
        check_methods(make_config(methods=["warmup"]))


def test_check_methods_duplicate():
    with pytest.raises(ConfigError, match="twice"):
        check_methods(make_config(methods=["SP", "SP"]))


def test_config_error_is_value_error():
    assert issubclass(ConfigError, ValueError)


# ---------------------------------------------------------------- method_definitions

def test_definition_with_base_overrides_one_key():
    cfg = make_config(methods=["SP+phi0.4"],
                      method_definitions={"SP+phi0.4": {"base": "SP+S",
                                                        "sieve": {"threshold": 0.4}}})
    assert check_methods(cfg) == ["SP+phi0.4"]
    assert stage_settings(cfg, "SP+phi0.4", "merge", 1) == {"mode": "none"}  # from SP+S
    assert stage_settings(cfg, "SP+phi0.4", "sieve") == dict(FULL_SIEVE, threshold=0.4)


def test_definition_overriding_a_no_sieve_base():
    # base SP has sieve {"threshold": "none"}; the definition's sieve dict is merged over it
    cfg = make_config(method_definitions={"SPphi": {"base": "SP", "sieve": {"threshold": 0.6}}})
    assert stage_settings(cfg, "SPphi", "sieve") == dict(FULL_SIEVE, threshold=0.6)
    assert stage_settings(cfg, "SPphi", "merge", 2) == {"mode": "none"}
    # the built-in stays untouched
    assert BUILTIN_METHODS["SP"] == {"merge": {"mode": "none"}, "sieve": {"threshold": "none"}}
    assert stage_settings(cfg, "SP", "sieve") == {"threshold": "none"}


def test_definition_inherits_merge_until_round():
    cfg = make_config(method_definitions={"MSPe": {"base": "MSP+S",
                                                   "merge": {"epsilon": 0.2}}})
    assert stage_settings(cfg, "MSPe", "merge", 2) == dict(FULL_MERGE, epsilon=0.2)
    assert stage_settings(cfg, "MSPe", "merge", 3) == {"mode": "none"}


def test_definition_without_base_partial_merging():
    cfg = make_config(method_definitions={"Top10": {"merge": {"seeds": "top",
                                                              "seed_fraction": 0.1}}})
    assert stage_settings(cfg, "Top10", "merge", 4) == dict(FULL_MERGE, seeds="top",
                                                           seed_fraction=0.1)
    assert stage_settings(cfg, "Top10", "sieve") == FULL_SIEVE


def test_definition_unknown_key_or_base():
    with pytest.raises(ConfigError, match="unknown keys"):
        all_methods(make_config(method_definitions={"X": {"merg": {"mode": "none"}}}))
    with pytest.raises(ConfigError, match="base"):
        all_methods(make_config(method_definitions={"X": {"base": "NoSuch"}}))


def test_defined_method_is_known_to_check_methods():
    cfg = make_config(methods=["Mine"], method_definitions={"Mine": {"base": "AMSP+S"}})
    assert check_methods(cfg) == ["Mine"]
    with pytest.raises(ConfigError):
        check_methods(make_config(methods=["Mine"]))  # not defined here


# ---------------------------------------------------------------- superpixel kinds

def test_superpixel_kind_follows_the_algorithm_unless_a_method_names_one():
    from asal.experiment.methods import superpixel_kind
    from asal.store.layout import warmup_method

    defs = {"SP-slic": {"base": "SP", "superpixels": "slic"},
            "SP-seeds": {"base": "SP", "superpixels": "seeds"}}
    cfg = make_config(methods=("SP", "SP-slic", "OracleSP"), method_definitions=defs)
    assert [superpixel_kind(cfg, m) for m in ("SP", "SP-slic", "OracleSP")] == \
        ["seeds", "slic", "oracle"]
    # each kind has its own warm-up, which knows its kind back
    assert warmup_method("slic") == "warmup-slic"
    assert superpixel_kind(cfg, "warmup-slic") == "slic"
    assert superpixel_kind(cfg, "warmup") == "seeds"
    cfg["superpixels"]["algorithm"] = "slic"
    assert [superpixel_kind(cfg, m) for m in ("SP", "SP-seeds", "SP-slic")] == \
        ["slic", "seeds", "slic"]


def test_superpixel_kind_rejects_an_unknown_kind():
    from asal.experiment.methods import superpixel_kind

    cfg = make_config(methods=("X",), method_definitions={"X": {"superpixels": "felzenszwalb"}})
    with pytest.raises(ConfigError, match="superpixels 'felzenszwalb'"):
        superpixel_kind(cfg, "X")


def test_superpixel_settings_keep_only_the_kinds_keys():
    from asal.experiment.methods import superpixel_settings

    cfg = make_config(superpixels={"size": 64, "levels": 4, "prior": 2, "histogram_bins": 5,
                                   "double_step": False, "iterations": 7, "color_space": "lab",
                                   "algorithm": "seeds", "slic_variant": "slico", "ruler": 20})
    assert superpixel_settings(cfg, "seeds") == {
        "size": 64, "levels": 4, "prior": 2, "histogram_bins": 5, "double_step": False,
        "iterations": 7, "color_space": "lab", "algorithm": "seeds"}
    assert superpixel_settings(cfg, "slic") == {
        "size": 64, "iterations": 7, "color_space": "lab", "algorithm": "slic",
        "slic_variant": "slico", "ruler": 20}
    with pytest.raises(ConfigError, match="oracle"):
        superpixel_settings(cfg, "oracle")
