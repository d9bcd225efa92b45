import sys
from pathlib import Path

# Test helpers (tests/workflow_helpers.py) import as plain modules.
sys.path.insert(0, str(Path(__file__).parent))


def pytest_configure(config):
    config.addinivalue_line(
        "markers", "slurm: runs the workflow on a real single-node SLURM cluster that the test "
                   "starts (tests/slurm_cluster.py); slow")


# The suite runs on two workers (pytest-xdist, `-n 2` in pyproject.toml); the costly shared
# workflow runs are made once for both (workflow_helpers.made_once).
