"""One tiny workflow run shared by every test that only reads what a run produced.

The run covers what those tests look at: SEEDS and oracle superpixels, merging and sieving,
the Full ceiling, two trials for the paired differences and two rounds for the loop. Tests that
change or kill a run make their own in a temporary folder.
"""

from __future__ import annotations

import subprocess

import pytest

from workflow_helpers import made_once, snakemake, tiny_config, write_config

SHARED_METHODS = ["SP", "AMSP+S", "OracleSP", "Full"]


def shared_config() -> dict:
    return tiny_config(methods=SHARED_METHODS, trials=2)


@pytest.fixture(scope="session")
def tiny_run(tmp_path_factory):
    """(workdir, the finished snakemake process) of the shared tiny run, made once for the
    session whatever the number of workers (its output kept beside it)."""
    def make(workdir):
        write_config(workdir, shared_config())
        proc = snakemake(workdir)
        (workdir / "snakemake.stdout").write_text(proc.stdout)
        (workdir / "snakemake.stderr").write_text(proc.stderr)

    workdir = made_once(tmp_path_factory, "tiny", make)
    return workdir, subprocess.CompletedProcess(
        ["snakemake"], 0, (workdir / "snakemake.stdout").read_text(),
        (workdir / "snakemake.stderr").read_text())
