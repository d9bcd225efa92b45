"""An experiment's settings: the config read outside Snakemake, methods as named bundles of
stage settings, and the seeds and shards that make a run reproducible and splittable."""
