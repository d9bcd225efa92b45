import sys
from pathlib import Path

import pytest

# Test helpers (tests/workflow_helpers.py) import as plain modules.
sys.path.insert(0, str(Path(__file__).parent))


def pytest_configure(config):
    config.addinivalue_line(
        "markers", "slurm: runs the workflow on a real single-node SLURM cluster that the test "
                   "starts (tests/slurm_cluster.py); slow")


# The suite runs on two workers (pytest-xdist, `-n 2 --dist loadgroup` in pyproject.toml).
# Tests that share a costly fixture run on one worker, so it is made once: the shared tiny
# workflow run, the beyond-the-paper run, the SLURM cluster, the browser.
GROUPS = {"tiny_run": "tiny", "beyond_run": "beyond", "cluster": "slurm", "driver": "browser"}


@pytest.hookimpl(tryfirst=True)  # before xdist reads the groups off the items
def pytest_collection_modifyitems(config, items):
    for item in items:
        group = next((g for f, g in GROUPS.items() if f in item.fixturenames), None)
        if group is not None:
            item.add_marker(pytest.mark.xdist_group(group))
