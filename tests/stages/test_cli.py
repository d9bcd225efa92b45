"""The command line is built from the stage registry: every rule runs a registered stage module
named after it, every stage module declares its arguments and entry point, and `call` runs a
stage from Python through the same parser as the CLI."""

from __future__ import annotations

import importlib
import re
from pathlib import Path

import pytest
import yaml

from asal import cli
from asal.stages import COMMANDS

REPO = Path(__file__).resolve().parents[2]
RULES = sorted((REPO / "workflow" / "rules").glob("*.smk"))
# Rules that run the stage of another name: the gathers of sharded stages, method Full's pair,
# and the human oracle's query (asal annotate).
RUNS_OTHER = {"gather_superpixels": "gather", "gather_stats": "gather",
              "gather_features": "gather", "train_full": "train", "evaluate_full": "evaluate"}


def rules_and_commands() -> dict[str, set[str]]:
    """rule name -> the asal subcommands its shell lines run."""
    out: dict[str, set[str]] = {}
    for path in RULES:
        text = path.read_text()
        starts = [(m.start(), m.group(1)) for m in re.finditer(r"^\s*rule (\w+):", text, re.M)]
        for k, (at, name) in enumerate(starts):
            body = text[at:starts[k + 1][0] if k + 1 < len(starts) else len(text)]
            out.setdefault(name, set()).update(re.findall(r'"asal ([a-z_-]+)', body))
    return out


def test_every_stage_module_declares_its_command_line():
    for command, name in COMMANDS.items():
        module = importlib.import_module(f"asal.stages.{name}")
        assert isinstance(module.HELP, str) and module.HELP, name
        assert callable(module.add_arguments) and callable(module.main), name
        assert command == name.replace("_", "-")


def test_rule_names_are_unique():
    names = [m.group(1) for path in RULES
             for m in re.finditer(r"^\s*rule (\w+):", path.read_text(), re.M)]
    assert names and len(names) == len(set(names)), sorted(names)


# The function of each stage module that does the work (its entry point calls it).
STAGE_FUNCTIONS = {"synthesize": "synthesize", "superpixelize": "superpixelize",
                   "superpixelize_oracle": "superpixelize_oracle", "oracle_table": "oracle_table",
                   "features": "compute_features", "warmup": "warmup", "predict": "predict",
                   "merge": "merge", "acquire": "acquire", "query": "query",
                   "annotate": "annotate", "sieve": "sieve", "train": "train",
                   "evaluate": "evaluate", "draw": "draw", "gather": "gather_superpixels"}


def test_stage_functions_take_named_arguments_only():
    """A path given in the wrong place is an error, not a silent swap."""
    import inspect

    for module, name in STAGE_FUNCTIONS.items():
        function = getattr(importlib.import_module(f"asal.stages.{module}"), name)
        positional = [p.name for p in inspect.signature(function).parameters.values()
                      if p.kind is not p.KEYWORD_ONLY]
        assert not positional, f"{module}.{name} takes {positional} by position"
    from asal.stages.merge import merge

    with pytest.raises(TypeError):
        merge("superpixels.h5", "stats.h5", None, None, "merged.h5")


def test_every_rule_runs_the_stage_of_its_name():
    rules = rules_and_commands()
    assert {"superpixelize", "warmup", "merge", "evaluate", "draw", "report"} <= set(rules)
    for rule, commands in rules.items():
        expected = RUNS_OTHER.get(rule, rule).replace("_", "-")
        if rule == "query":  # the simulated oracle, or with oracle: human the labelling page
            assert commands == {"query", "annotate"}
        else:
            assert commands == {expected}, (rule, commands)
        assert expected in COMMANDS, rule


def test_rules_read_every_resource_entry_and_only_those():
    text = "".join(p.read_text() for p in RULES)
    used = set(re.findall(r'resources_of\("(\w+)"', text))
    table = yaml.safe_load((REPO / "config.yaml").read_text())["resources"]
    assert used == set(table) - {"retry_factor", "slurm"}
    assert "JOB_RESOURCES" not in text and "runtime_of" not in text


def test_no_rule_edits_a_path_pattern():
    for path in RULES:
        for n, line in enumerate(path.read_text().splitlines(), 1):
            assert ".replace(" not in line, f"{path.name}:{n}: {line.strip()}"


def test_rule_spelling_of_a_command_is_an_alias():
    parser = cli.build_parser()
    a = parser.parse_args(["oracle_table", "--dataset", "{}", "--superpixels", "s", "--out", "o"])
    b = parser.parse_args(["oracle-table", "--dataset", "{}", "--superpixels", "s", "--out", "o"])
    assert a.entry is b.entry and a.command == b.command == "oracle-table"


def test_call_runs_a_stage_as_the_cli_does(tmp_path):
    from asal.stages.synthesize import synthesize

    spec = {"n_pool": 2, "n_val": 1, "height": 16, "width": 24}
    cli.call("synthesize", out=tmp_path / "a", seed=3, spec=spec)
    synthesize(out=str(tmp_path / "b"), seed=3, spec=spec)
    made_a = sorted(p.relative_to(tmp_path / "a") for p in (tmp_path / "a").rglob("*"))
    made_b = sorted(p.relative_to(tmp_path / "b") for p in (tmp_path / "b").rglob("*"))
    assert made_a == made_b and made_a
    for rel in made_a:
        if (tmp_path / "a" / rel).is_file():
            assert (tmp_path / "a" / rel).read_bytes() == (tmp_path / "b" / rel).read_bytes()


def test_call_refuses_an_unknown_option():
    with pytest.raises(SystemExit):
        cli.call("warmup", superpixels="s.h5", out="q.csv", budget=3, seed=0, trial=0,
                 colour="red")
