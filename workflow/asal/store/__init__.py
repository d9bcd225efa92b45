"""Artifacts and their layout: where every file lives (layout), how each is written atomically
with its provenance and read back with errors that name the rule to rerun (artifacts, and
feature_file for the cached encoder features), the per-superpixel tables a round passes on
(round_tables), and the blocks of whole images that stages stream over (blocks)."""
