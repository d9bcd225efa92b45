"""Running the real Snakefile on a tiny config in a temporary folder."""

from __future__ import annotations

import copy
import os
import re
import subprocess
import sys
from pathlib import Path

import yaml

REPO = Path(__file__).resolve().parents[1]
SNAKEMAKE = str(Path(sys.executable).with_name("snakemake"))


def tiny_config(**overrides) -> dict:
    """The default config shrunk to seconds: 6 tiny pool images, 1 trial, 2 rounds."""
    config = yaml.safe_load((REPO / "config.yaml").read_text())
    config.update(experiment="tiny", trials=1, rounds=2, budget=12)
    config["dataset"]["synthetic"] = {"n_pool": 6, "n_val": 2, "height": 48, "width": 64}
    config["superpixels"]["size"] = 32
    config["train"].update(iterations=15, batch_size=4)
    for key, value in overrides.items():
        if isinstance(value, dict):
            config[key] = {**config.get(key, {}), **value}
        else:
            config[key] = value
    return copy.deepcopy(config)


def write_config(workdir: Path, config: dict) -> Path:
    path = workdir / "config.yaml"
    path.write_text(yaml.safe_dump(config, sort_keys=False))
    return path


def snakemake(workdir: Path, *args: str, check: bool = True) -> subprocess.CompletedProcess:
    env = {**os.environ, "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}"}
    cmd = [SNAKEMAKE, "-s", str(REPO / "Snakefile"), "--directory", str(workdir),
           "--configfile", str(workdir / "config.yaml"), "--cores", "2", *args]
    proc = subprocess.run(cmd, cwd=workdir, env=env, capture_output=True, text=True)
    if check and proc.returncode != 0:
        raise AssertionError(f"snakemake {' '.join(args)} failed ({proc.returncode}):\n"
                             f"{proc.stdout[-4000:]}\n{proc.stderr[-6000:]}")
    return proc


def planned_jobs(output: str) -> list[tuple[str, str]]:
    """(rule, first output) of every job in a dry run's listing."""
    jobs, rule = [], None
    for line in output.splitlines():
        m = re.match(r"^(?:local)?rule (\w+):", line.strip())
        if m:
            rule = m.group(1)
            continue
        m = re.match(r"^output: (\S+?),?$", line.strip()) or \
            re.match(r"^output: (\S+?), ", line.strip())
        if m and rule:
            jobs.append((rule, m.group(1)))
            rule = None
    return jobs


def logged_command(workdir: Path, log: str) -> list[str]:
    """The stage command a job ran, from the first line of its log (the exact command,
    quoted for the shell): ["merge", "--superpixels", ...]."""
    import shlex

    first = (workdir / "results" / "logs" / log).read_text().splitlines()[0]
    return shlex.split(re.search(r" asal \S+ (.*)$", first).group(1))


def run_stage(argv: list[str], cwd: Path) -> subprocess.CompletedProcess:
    """`asal ARGV` in `cwd`, as a person runs it by hand; fails with its output."""
    proc = subprocess.run([str(Path(sys.executable).with_name("asal")), *argv], cwd=cwd,
                          capture_output=True, text=True)
    if proc.returncode != 0:
        raise AssertionError(f"asal {' '.join(argv)} failed:\n{proc.stderr[-4000:]}")
    return proc


def data_differences(a: Path, b: Path) -> list[str]:
    """What differs in data (not provenance) between two artifacts, or two folders of them,
    as benchmarks/compare_runs.py decides it."""
    import importlib.util

    spec = importlib.util.spec_from_file_location("compare_runs",
                                                  REPO / "benchmarks" / "compare_runs.py")
    compare = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(compare)
    pairs = ([(a, b)] if a.is_file() else  # a folder: its files (not Snakemake's dotfiles)
             [(a / rel, b / rel) for rel in sorted(compare.files_under(a))
              if not Path(rel).name.startswith(".")])
    out = []
    for x, y in pairs:
        if not y.exists():
            out.append(f"{y}: missing")
            continue
        data, _ = compare.compare_file(x, y, compare.kind_of(str(x)), False)
        out += [f"{x.name}: {line}" for line in data]
    return out


def made_once(tmp_path_factory, name: str, make) -> Path:
    """A folder made by `make(folder)` once for the whole test session, whichever of the
    pytest-xdist workers asks first: the others wait on a file lock and reuse it. A session
    fixture alone would be made once per worker."""
    import fcntl

    root = tmp_path_factory.getbasetemp()
    if os.environ.get("PYTEST_XDIST_WORKER"):
        root = root.parent  # shared by the workers of this session
    folder, done = root / name, root / f"{name}.done"
    with open(root / f"{name}.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not done.exists():
            if folder.exists():  # debris of a worker that failed mid-way
                import shutil

                shutil.rmtree(folder)
            folder.mkdir()
            make(folder)
            done.touch()
    return folder
