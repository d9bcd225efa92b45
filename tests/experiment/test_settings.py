"""The schema is the one place a setting's default and allowed values are written: every
settings object takes its defaults from it, and its enums are the code's own registries."""

from __future__ import annotations

import dataclasses

import pytest
import yaml

from asal.experiment.settings import (ConfigError, checked_config, choices, defaults, section,
                                      with_defaults)
from asal.learning.train_spec import TrainSpec
from asal.method.acquisition import AcquireSpec
from asal.method.merging import MergeSpec
from asal.method.sieving import SieveSpec
from asal.method.superpixel_spec import SeedsSpec
from asal.stages.draw import DrawSpec

# Settings object -> its config section, and the section's keys that are not the object's
# (how a job runs, not what it makes).
SPECS = {MergeSpec: ("merge", set()), AcquireSpec: ("acquire", set()),
         SieveSpec: ("sieve", set()), SeedsSpec: ("superpixels", set()),
         TrainSpec: ("train", {"threads"}), DrawSpec: ("draw", set())}


@pytest.mark.parametrize("cls", SPECS, ids=lambda c: c.__name__)
def test_every_setting_has_its_one_default_in_the_schema(cls):
    name, not_settings = SPECS[cls]
    keys = set(section(name)["properties"]) - not_settings
    fields = {f.name: f for f in dataclasses.fields(cls)}
    assert set(fields) == keys, f"{cls.__name__} and schema section {name} differ"
    schema_defaults = defaults(name)
    for key, field in fields.items():
        if field.default is dataclasses.MISSING:  # required: no default anywhere
            assert key not in schema_defaults and key in section(name).get("required", []), key
        else:
            assert field.default == schema_defaults[key], key


def test_schema_enums_are_the_code_registries():
    from asal.data.datasets import ADAPTERS
    from asal.learning.encoders import LITE_STAGES
    from asal.learning.models import MODELS
    from asal.method import acquisition, merging, sieving, superpixels
    from asal.store import layout

    registries = {
        "merge.mode": merging.MODES, "merge.seeds": merging.SEED_CHOICES,
        "acquire.function": acquisition.FUNCTIONS, "acquire.normalize": acquisition.NORMALIZE,
        "sieve.threshold": sieving.THRESHOLDS, "sieve.scope": sieving.SCOPES,
        "superpixels.color_space": superpixels.COLOR_SPACES,
        "superpixels.algorithm": layout.ALGORITHM_KINDS,
        "superpixels.slic_variant": superpixels.SLIC_VARIANTS,
        "train.model": MODELS, "train.encoder": LITE_STAGES, "dataset.name": ADAPTERS,
    }
    for path, registry in registries.items():
        assert sorted(choices(path)) == sorted(registry), path
    assert sorted(superpixels.ALGORITHMS) == sorted(layout.ALGORITHM_KINDS)
    # The built-in extensions, known by name while the Snakefile parses, are the registries.
    from asal.experiment.extensions import BUILTIN_NAMES
    from asal.method import answers

    assert sorted(BUILTIN_NAMES["acquire.function"]) == sorted(acquisition.FUNCTIONS)
    assert sorted(BUILTIN_NAMES["merge.criterion"]) == sorted(merging.BUILTIN_CRITERIA)
    assert sorted(BUILTIN_NAMES["answer.type"]) == sorted(answers.BUILTIN_ANSWERS)
    kinds = section("method_definitions")["additionalProperties"]["properties"]["superpixels"]
    assert sorted(kinds["enum"]) == sorted(layout.SUPERPIXEL_KINDS)


def test_defaults_fill_the_config_but_not_a_method_definition():
    from workflow_helpers import REPO

    config = yaml.safe_load((REPO / "config.yaml").read_text())
    del config["merge"]["epsilon"], config["train"]["iterations"]
    config["method_definitions"] = {"SP-eps": {"base": "SP", "merge": {"epsilon": 0.2}}}
    filled = checked_config(config)
    assert filled["merge"]["epsilon"] == MergeSpec().epsilon == 0.1
    assert filled["train"]["iterations"] == TrainSpec().iterations == 250
    assert filled["compute"]["device"] == "auto" and filled["report"]["baseline"] == "SP"
    # a method names only what it overrides, so the experiment's other merge keys still apply
    assert filled["method_definitions"]["SP-eps"]["merge"] == {"epsilon": 0.2}
    assert with_defaults({}) == with_defaults(with_defaults({}))


def test_a_renamed_key_is_refused_with_its_new_name():
    from workflow_helpers import REPO

    config = yaml.safe_load((REPO / "config.yaml").read_text())
    config["train"]["device"] = "cuda"
    with pytest.raises(ConfigError, match="train.device is now compute.device"):
        checked_config(config)


def test_every_schema_default_is_config_yaml_s_value():
    """One default per key, for real: where config.yaml sets a key that has a schema default,
    the two agree, so a setting left out of --spec takes what the workflow gives it."""
    from workflow_helpers import REPO

    from asal.experiment.settings import _resolved, schema

    config = yaml.safe_load((REPO / "config.yaml").read_text())
    differ, unknown = [], []

    def walk(node, value, path):
        node = _resolved(node)
        if path and "default" in node and node["default"] != value:
            differ.append((".".join(path), node["default"], value))
        if isinstance(value, dict) and "properties" in node:
            for key, sub in value.items():
                if key in node["properties"]:
                    walk(node["properties"][key], sub, path + [key])
                else:
                    unknown.append(".".join(path + [key]))

    walk(schema(), config, [])
    assert not differ, differ
    assert not unknown, unknown
