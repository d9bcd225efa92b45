"""A real single-node SLURM cluster on this machine, for tests.

`slurm_cluster(folder)` is a context manager that starts munged, slurmctld and slurmd (in that
order) with their configuration, state, sockets and logs under `folder`, waits until the node
is idle, yields a `Cluster`, and at exit cancels every job and stops the three daemons, also
when the body raised. Nothing under /etc is read or written: the clients find the cluster
through `SLURM_CONF` (in `Cluster.env`), munged listens on its own socket, and the daemons use
two free ports on 127.0.0.1.

The cluster: one node (this host's short name, address 127.0.0.1) with 2 CPUs, a bit less memory
than the machine has, and one GPU backed by /dev/null (`Gres=gpu:1`), so that jobs asking for a
GPU are scheduled although there is none; no accounting (`sacct` does not work; use
`squeue --states=all`, which lists finished jobs for `MinJobAge` seconds); proctrack/linuxproc
and task/none, as there is no usable cgroup tree.

`install_reason()` says why a cluster cannot be had here (not root; packages missing and not
installable), or None; it installs the Debian packages slurm-wlm and munge when they are missing.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import socket
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path

DAEMONS = ("munged", "slurmctld", "slurmd")
PACKAGES = ("slurm-wlm", "munge")
MIN_JOB_AGE = 3600  # seconds a finished job stays visible to squeue (>= 3 x the plugin's poll)


def _missing() -> list[str]:
    path = os.environ.get("PATH", "") + ":/usr/sbin:/sbin"
    return [d for d in DAEMONS + ("sbatch", "squeue", "scancel")
            if shutil.which(d, path=path) is None]


def install_reason() -> str | None:
    """Why no cluster can be started here, or None. Installs slurm-wlm and munge with apt-get
    when they are missing."""
    if os.geteuid() != 0:
        return "slurmd runs as root, and these tests do not"
    if not _missing():
        return None
    if shutil.which("apt-get") is None:
        return "SLURM is not installed and there is no apt-get to install it"
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    # Keep the packages' maintainer scripts from starting system-wide daemons: the tests start
    # their own, and stop them.
    policy = Path("/usr/sbin/policy-rc.d")
    made_policy = not policy.exists()
    if made_policy:
        policy.write_text("#!/bin/sh\nexit 101\n")
        policy.chmod(0o755)
    try:
        for cmd in (["apt-get", "update"],
                    ["apt-get", "install", "-y", "--no-install-recommends", *PACKAGES]):
            proc = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=600)
            if proc.returncode != 0:
                return f"`{' '.join(cmd)}` failed: {(proc.stderr or proc.stdout)[-500:]}"
    except (OSError, subprocess.TimeoutExpired) as err:
        return f"installing {' '.join(PACKAGES)} failed: {err}"
    finally:
        if made_policy:
            policy.unlink(missing_ok=True)
    if _missing():
        return f"{', '.join(_missing())} still missing after installing {' '.join(PACKAGES)}"
    return None


def _free_ports(n: int) -> list[int]:
    """n distinct ports that are free on 127.0.0.1 now."""
    with contextlib.ExitStack() as stack:
        socks = [stack.enter_context(socket.socket()) for _ in range(n)]
        for s in socks:
            s.bind(("127.0.0.1", 0))
        return [s.getsockname()[1] for s in socks]


def _mem_total_mb() -> int:
    for line in Path("/proc/meminfo").read_text().splitlines():
        if line.startswith("MemTotal:"):
            return int(line.split()[1]) // 1024
    raise RuntimeError("no MemTotal in /proc/meminfo")


def _sbin(name: str) -> str:
    return shutil.which(name, path=os.environ.get("PATH", "") + ":/usr/sbin:/sbin") or name


@dataclass
class Cluster:
    root: Path
    node: str
    cpus: int
    memory_mb: int
    partition: str = "asal"
    env: dict = field(default_factory=dict)
    procs: dict = field(default_factory=dict)

    @property
    def conf(self) -> Path:
        return self.root / "etc" / "slurm.conf"

    def run(self, *cmd: str, check: bool = True) -> subprocess.CompletedProcess:
        proc = subprocess.run(list(cmd), env=self.env, capture_output=True, text=True, timeout=60)
        if check and proc.returncode != 0:
            raise RuntimeError(f"{' '.join(cmd)} failed ({proc.returncode}): {proc.stderr}")
        return proc

    def jobs(self) -> list[dict]:
        """Every job slurmctld still knows (running, pending and finished in the last MinJobAge
        seconds): id, name, state, comment, time limit, memory, GPUs, exit code, node."""
        fields = ["id", "name", "state", "comment", "time_limit", "memory", "tres", "node"]
        out = self.run("squeue", "--states=all", "--noheader",
                       "--format=%i|%j|%T|%k|%l|%m|%b|%N").stdout
        return [dict(zip(fields, line.split("|"))) for line in out.splitlines() if line.strip()]

    def show_job(self, job_id: str) -> dict:
        """`scontrol show job` as a dict (ExitCode, TRES, WorkDir, ...)."""
        out = self.run("scontrol", "show", "job", "--oneliner", job_id).stdout
        return dict(item.split("=", 1) for item in out.split() if "=" in item)

    def log_tail(self, n: int = 40) -> str:
        parts = []
        for name in ("munged.log", "slurmctld.log", "slurmd.log"):
            path = self.root / "log" / name
            if path.exists():
                lines = path.read_text(errors="replace").splitlines()[-n:]
                parts.append(f"--- {name}\n" + "\n".join(lines))
        return "\n".join(parts)

    # ------------------------------------------------------------------ start and stop

    def write_config(self) -> None:
        for sub in ("etc", "state", "spool", "log", "run", "munge"):
            (self.root / sub).mkdir(parents=True, exist_ok=True, mode=0o700)
        r = self.root
        ctld_port, slurmd_port = _free_ports(2)
        self.conf.write_text(f"""\
ClusterName=asaltest
SlurmctldHost={self.node}(127.0.0.1)
SlurmctldPort={ctld_port}
SlurmdPort={slurmd_port}
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
CredType=cred/munge
AuthInfo=socket={r}/munge/munge.socket
StateSaveLocation={r}/state
SlurmdSpoolDir={r}/spool
SlurmctldPidFile={r}/run/slurmctld.pid
SlurmdPidFile={r}/run/slurmd.pid
SlurmctldLogFile={r}/log/slurmctld.log
SlurmdLogFile={r}/log/slurmd.log
SlurmctldDebug=info
SlurmdDebug=info
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
MpiDefault=none
MailProg=/bin/true
SwitchType=switch/none
SchedulerType=sched/backfill
SchedulerParameters=sched_min_interval=100000
SelectType=select/cons_tres
SelectTypeParameters=CR_Core_Memory
DefMemPerCPU=500
AccountingStorageType=accounting_storage/none
JobAcctGatherType=jobacct_gather/none
JobCompType=jobcomp/filetxt
JobCompLoc={r}/log/jobcomp.txt
GresTypes=gpu
MinJobAge={MIN_JOB_AGE}
ReturnToService=2
InactiveLimit=0
KillWait=5
SlurmdTimeout=300
NodeName={self.node} NodeAddr=127.0.0.1 NodeHostname={self.node} CPUs={self.cpus} RealMemory={self.memory_mb} Gres=gpu:1 State=UNKNOWN
PartitionName={self.partition} Nodes={self.node} Default=YES MaxTime=INFINITE State=UP
""")
        (self.root / "etc" / "gres.conf").write_text(
            f"NodeName={self.node} Name=gpu File=/dev/null Count=1\n")
        # snakemake-executor-plugin-slurm-jobstep (0.6.1) runs each job's command through `srun`
        # with every SLURM_* variable but a few removed, SLURM_CONF among them: that srun would
        # look for /etc/slurm/slurm.conf, which a real cluster has and this one does not. A
        # wrapper first on PATH gives the real srun this cluster's configuration back.
        (self.root / "bin").mkdir(exist_ok=True)
        srun = self.root / "bin" / "srun"
        srun.write_text(f'#!/bin/sh\nSLURM_CONF="{self.conf}" exec {_sbin("srun")} "$@"\n')
        srun.chmod(0o755)
        key = self.root / "munge" / "munge.key"
        key.write_bytes(os.urandom(1024))
        key.chmod(0o400)

    def _spawn(self, name: str, cmd: list[str]) -> None:
        log = open(self.root / "log" / f"{name}.out", "w")
        self.procs[name] = subprocess.Popen(cmd, env=self.env, stdout=log, stderr=subprocess.STDOUT,
                                            start_new_session=True)
        log.close()

    def _wait(self, what: str, ready, timeout: float = 30.0) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            for name, proc in self.procs.items():
                if proc.poll() is not None:
                    raise RuntimeError(f"{name} exited ({proc.returncode}) while waiting for "
                                       f"{what}:\n{(self.root / 'log' / f'{name}.out').read_text()}"
                                       f"\n{self.log_tail()}")
            if ready():
                return
            time.sleep(0.2)
        raise RuntimeError(f"timed out waiting for {what}\n{self.log_tail()}")

    def start(self) -> None:
        self.write_config()
        m = self.root / "munge"
        self.env = {**os.environ, "SLURM_CONF": str(self.conf),
                    "PATH": f"{self.root / 'bin'}{os.pathsep}{os.environ.get('PATH', '')}"}
        for var in [v for v in self.env if v.startswith(("SLURM_", "SBATCH_", "SRUN_", "SQUEUE_"))]:
            if var != "SLURM_CONF":
                del self.env[var]
        self._spawn("munged", [_sbin("munged"), "--foreground", "--force",
                               f"--key-file={m}/munge.key", f"--socket={m}/munge.socket",
                               f"--pid-file={m}/munged.pid", f"--seed-file={m}/munged.seed",
                               f"--log-file={self.root}/log/munged.log"])
        self._wait("munged's socket", (m / "munge.socket").exists)
        self._spawn("slurmctld", [_sbin("slurmctld"), "-D", "-c", "-f", str(self.conf)])
        self._wait("slurmctld", lambda: self.run("scontrol", "ping", check=False).returncode == 0)
        self._spawn("slurmd", [_sbin("slurmd"), "-D", "-f", str(self.conf), "-N", self.node])

        def idle():
            out = self.run("sinfo", "--noheader", "--format=%T", check=False).stdout.strip()
            if out.startswith(("drain", "down")) and "*" not in out:
                reason = self.run("sinfo", "-R", check=False).stdout
                raise RuntimeError(f"node {out}: {reason}\n{self.log_tail()}")
            return out == "idle"

        self._wait("an idle node", idle)

    def stop(self) -> None:
        """Cancel every job, wait for them to end, stop slurmd, slurmctld and munged."""
        if self.procs.get("slurmctld") and self.procs["slurmctld"].poll() is None:
            self.run("scancel", "--full", f"--partition={self.partition}", check=False)
            deadline = time.monotonic() + 30
            while time.monotonic() < deadline:
                states = {j["state"] for j in self.jobs()} if self._alive() else set()
                if not states & {"RUNNING", "PENDING", "COMPLETING", "CONFIGURING", "SUSPENDED"}:
                    break
                time.sleep(0.5)
        for name in ("slurmd", "slurmctld", "munged"):
            proc = self.procs.pop(name, None)
            if proc is None or proc.poll() is not None:
                continue
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGTERM)
            try:
                proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(proc.pid, signal.SIGKILL)
                proc.wait(timeout=15)

    def _alive(self) -> bool:
        return self.run("scontrol", "ping", check=False).returncode == 0


@contextlib.contextmanager
def slurm_cluster(root: Path, cpus: int = 2):
    node = socket.gethostname().split(".")[0]
    memory = max(1024, _mem_total_mb() - max(1024, _mem_total_mb() // 10))
    cluster = Cluster(root=Path(root), node=node, cpus=min(cpus, os.cpu_count() or 1),
                      memory_mb=memory)
    try:
        cluster.start()
        yield cluster
    finally:
        cluster.stop()
