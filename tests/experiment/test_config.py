"""Config files outside Snakemake: merged the way `snakemake --configfile` merges them."""

import pytest
import yaml

from asal.experiment.config import load_config, merge_configs


def test_merge_configs_updates_nested_keys_and_replaces_the_rest():
    base = {"budget": 40, "merge": {"mode": "greedy", "epsilon": 0.1}, "methods": ["SP"]}
    got = merge_configs(base, {"merge": {"epsilon": 0.2}, "methods": ["AMSP+S"], "rounds": 4})
    assert got == {"budget": 40, "merge": {"mode": "greedy", "epsilon": 0.2},
                   "methods": ["AMSP+S"], "rounds": 4}
    assert base["merge"]["epsilon"] == 0.1  # the base is left as it was


def test_benchmark_config_is_read_over_the_defaults(tmp_path):
    from workflow_helpers import REPO

    config = load_config([REPO / "config.yaml", REPO / "workflow/configs/camvid.yaml"])
    assert config["dataset"]["name"] == "camvid" and config["budget"] == 608
    assert config["acquire"]["function"] == "classbal_pixel"  # from config.yaml
    assert config["train"]["weight_decay"] == 0.0001  # nested default kept


def test_a_benchmark_config_alone_says_to_give_the_defaults_too(tmp_path):
    from workflow_helpers import REPO

    with pytest.raises(ValueError, match="give both, e.g. --config config.yaml"):
        load_config(REPO / "workflow/configs/camvid.yaml")


def test_misspelt_key_in_an_override_is_named(tmp_path):
    from workflow_helpers import REPO

    bad = tmp_path / "bad.yaml"
    bad.write_text(yaml.safe_dump({"merge": {"epsilom": 0.2}}))
    with pytest.raises(ValueError, match="merge.*epsilom"):
        load_config([REPO / "config.yaml", bad])
