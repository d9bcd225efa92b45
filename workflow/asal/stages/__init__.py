"""One module per stage, named after its rule: each declares its command line
(`add_arguments`), its entry point from parsed arguments (`main`) and the stage function that
reads the inputs, calls the pure functions and writes the outputs atomically.

`asal.cli` builds the parser from COMMANDS; a subcommand is its rule's name with dashes (the
rule's own spelling works too), and a rule's log is logs/<experiment>/<rule>/... A new stage is
a module here, a line in COMMANDS and a rule.
"""

# subcommand -> module. Rules gather_superpixels, gather_stats and gather_features share
# `gather`; train_full and evaluate_full run `train --full` and `evaluate` (method Full); with
# `oracle: human` rule query runs `annotate`. check-dataset, show, export-labels and
# export-model are commands, not rules; segment is both.
COMMANDS = {
    "synthesize": "synthesize",
    "superpixelize": "superpixelize",
    "superpixelize-oracle": "superpixelize_oracle",
    "gather": "gather",
    "oracle-table": "oracle_table",
    "features": "features",
    "warmup": "warmup",
    "predict": "predict",
    "merge": "merge",
    "acquire": "acquire",
    "query": "query",
    "annotate": "annotate",
    "sieve": "sieve",
    "train": "train",
    "evaluate": "evaluate",
    "draw": "draw",
    "report": "report",
    "segment": "segment",
    "export-labels": "export_labels",
    "export-model": "export_model",
    "check-dataset": "check_dataset",
    "show": "show",
}
