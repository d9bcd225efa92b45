"""Artifacts and their layout: where every file lives (layout), how each is written atomically
with its provenance and read back with errors that name the rule to rerun (artifacts), and the
blocks of whole images that stages stream over."""
