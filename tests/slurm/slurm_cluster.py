"""A real single-node SLURM cluster on localhost, for integration tests.

``slurm_cluster()`` installs Debian's ``slurmctld slurmd slurm-client munge`` when they are
missing, writes a ``slurm.conf``, starts ``munged``, ``slurmctld`` and ``slurmd`` in the
foreground (so that the PIDs we hold are the daemons' own), waits until the node is idle, and on
exit cancels any job still on the cluster and stops exactly the daemons it started, by PID.

The cluster keeps its munge socket, state, spool, PID and log files in a fresh folder and uses
free TCP ports; it touches neither /run/munge nor the default ports. Its ``slurm.conf`` is the
one exception: it goes to SLURM's default path ``/etc/slurm/slurm.conf``, because snakemake's
job step plugin deletes the ``SLURM_*`` variables, ``SLURM_CONF`` among them, before it calls
``srun`` inside a job, so ``srun`` finds the configuration only where it looks by default (as
on any real compute node). Hence one test cluster per machine at a time (a lock file serialises
them), and none starts where a configuration it did not write is present. Programs reach the
cluster through ``cluster.env`` (the current environment, its ``SLURM_CONF`` set to that file).

Run this file directly to start a cluster for manual experiments; Ctrl-C stops it.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import pwd
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

PACKAGES = ("slurmctld", "slurmd", "slurm-client", "munge")
PROGRAMS = ("munged", "munge", "slurmctld", "slurmd", "sbatch", "squeue", "sinfo", "scancel")
# The Debian package creates this key (owned by the munge user) at installation.
MUNGE_KEY = Path("/etc/munge/munge.key")
# Where srun inside a job finds the configuration (see above), and the first line of ours.
DEFAULT_CONF = Path("/etc/slurm/slurm.conf")
CONF_MARKER = "# Test cluster of tests/slurm/slurm_cluster.py, removed when the cluster stops."
LOCK_FILE = Path("/run/lock/percolation-tms-slurm-cluster.lock")
# Daemons live in /usr/sbin, which is not on every user's PATH.
SEARCH_PATH = os.pathsep.join([os.environ.get("PATH", ""), "/usr/sbin", "/usr/bin", "/sbin"])
# squeue keeps finished jobs this long; the snakemake plugin's `squeue` status command needs
# it to be at least 3x its --slurm-init-seconds-before-status-checks, and the test counts
# every job of the run after it ends: a run of the tiny config takes several minutes (at
# 300 s the first 5 of 70 jobs were forgotten by the time they were counted).
MIN_JOB_AGE_SECONDS = 3600
ACTIVE_JOB_STATES = "PENDING,CONFIGURING,RUNNING,COMPLETING,SUSPENDED,REQUEUED,RESIZING"


class ClusterUnavailable(RuntimeError):
    """SLURM cannot be installed on this machine (not root, or apt-get failed)."""


class ClusterError(RuntimeError):
    """The daemons were installed but the cluster did not come up or misbehaved."""


def program(name: str) -> str:
    path = shutil.which(name, path=SEARCH_PATH)
    if path is None:
        raise ClusterError(f"{name} is not installed")
    return path


def ensure_slurm(timeout: float = 900) -> None:
    """Raise ClusterUnavailable unless we are root and SLURM is installed or installable;
    install the Debian packages unless every program is already there."""
    if os.geteuid() != 0:
        raise ClusterUnavailable("the daemons of a SLURM cluster (and apt-get) need root")
    if all(shutil.which(name, path=SEARCH_PATH) for name in PROGRAMS) and MUNGE_KEY.exists():
        return
    if shutil.which("apt-get") is None:
        raise ClusterUnavailable("apt-get is not available to install SLURM")
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}

    def apt_get(*args: str) -> subprocess.CompletedProcess:
        return subprocess.run(["apt-get", *args], env=env, stdin=subprocess.DEVNULL,
                              capture_output=True, text=True, timeout=timeout, check=False)

    install = ("install", "-y", "-q", "--no-install-recommends", *PACKAGES)
    result = apt_get(*install)
    if result.returncode != 0:
        # A fresh machine often has no package lists yet.
        apt_get("update", "-q")
        result = apt_get(*install)
    if result.returncode != 0:
        raise ClusterUnavailable(f"apt-get could not install {' '.join(PACKAGES)}:\n"
                                 f"{result.stdout[-2000:]}{result.stderr[-2000:]}")


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def total_memory_mb() -> int:
    for line in Path("/proc/meminfo").read_text().splitlines():
        if line.startswith("MemTotal:"):
            return int(line.split()[1]) // 1024
    raise ClusterError("MemTotal missing from /proc/meminfo")


def slurm_conf(root: Path, node: str, cpus: int, memory_mb: int, munge_socket: Path) -> str:
    """A minimal configuration: one node on 127.0.0.1, one default partition, no accounting
    database (slurmdbd) and no cgroups (they need systemd), every path inside ``root``."""
    return f"""\
{CONF_MARKER}
ClusterName=localtest
SlurmctldHost={node}(127.0.0.1)
SlurmctldPort={free_port()}
SlurmdPort={free_port()}
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
CredType=cred/munge
AuthInfo=socket={munge_socket}
StateSaveLocation={root}/state
SlurmdSpoolDir={root}/spool
SlurmctldPidFile={root}/slurmctld.pid
SlurmdPidFile={root}/slurmd.pid
SlurmctldLogFile={root}/slurmctld.log
SlurmdLogFile={root}/slurmd.log
SlurmctldDebug=info
SlurmdDebug=info
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
SelectType=select/cons_tres
SelectTypeParameters=CR_Core_Memory
AccountingStorageType=accounting_storage/none
JobAcctGatherType=jobacct_gather/none
JobCompType=jobcomp/none
MpiDefault=none
MinJobAge={MIN_JOB_AGE_SECONDS}
ReturnToService=2
# The node's CPUs are what this file says, not what slurmd detects (which would drain it).
SlurmdParameters=config_overrides
NodeName={node} NodeAddr=127.0.0.1 CPUs={cpus} RealMemory={memory_mb} State=UNKNOWN
PartitionName=main Nodes={node} Default=YES MaxTime=INFINITE State=UP
"""


class SlurmCluster:
    """The daemons of one cluster and the environment that points programs at it."""

    def __init__(self, root: Path, cpus: int):
        self.root = root
        self.conf = DEFAULT_CONF
        self.node = socket.gethostname().split(".")[0]
        self.cpus = cpus
        # Below the real memory, or slurmd reports too little and the node is drained.
        self.memory_mb = int(total_memory_mb() * 0.9)
        # Overrides a SLURM_CONF the caller may have for another cluster.
        self.env = {**os.environ, "SLURM_CONF": str(self.conf)}
        self._daemons: dict[str, subprocess.Popen] = {}

    # ------------------------------------------------------------------ start
    def start(self, timeout: float = 60) -> None:
        munge_dir = self.root / "munge"
        munge_dir.mkdir(mode=0o755)  # munged requires others to reach its socket
        munge_user = pwd.getpwnam("munge")
        os.chown(munge_dir, munge_user.pw_uid, munge_user.pw_gid)
        munge_socket = munge_dir / "munge.socket"
        for folder in ("state", "spool"):
            (self.root / folder).mkdir()
        if self.conf.exists() and not self._conf_is_ours():
            raise ClusterError(f"{self.conf} exists and was not written by this harness: this "
                               "machine has its own SLURM configuration, which a test cluster "
                               "would replace")
        self.conf.parent.mkdir(parents=True, exist_ok=True)
        self.conf.write_text(slurm_conf(self.root, self.node, self.cpus, self.memory_mb,
                                        munge_socket))

        self._spawn("munged", [program("munged"), "--foreground", f"--socket={munge_socket}",
                               f"--key-file={MUNGE_KEY}", f"--pid-file={munge_dir}/munged.pid",
                               f"--log-file={munge_dir}/munged.log",
                               f"--seed-file={munge_dir}/munged.seed"],
                    user="munge")
        self._wait("munged answers", timeout, lambda: self._munge_works(munge_socket))
        self._spawn("slurmctld", [program("slurmctld"), "-D", "-f", str(self.conf)])
        self._spawn("slurmd", [program("slurmd"), "-D", "-f", str(self.conf), "-N", self.node])
        self._wait(f"node {self.node} is idle", timeout, lambda: self.node_state() == "idle")

    def _spawn(self, name: str, command: list[str], user: str | None = None) -> None:
        with open(self.root / f"{name}.out", "wb") as output:
            self._daemons[name] = subprocess.Popen(
                command, env=self.env, user=user, group=user, stdin=subprocess.DEVNULL,
                stdout=output, stderr=subprocess.STDOUT, start_new_session=True)

    def _wait(self, what: str, timeout: float, condition) -> None:
        deadline = time.monotonic() + timeout
        while not condition():
            for name, process in self._daemons.items():
                if process.poll() is not None:
                    raise ClusterError(f"{name} exited with {process.returncode} while waiting "
                                       f"until {what}\n{self.log_tails()}")
            if time.monotonic() > deadline:
                raise ClusterError(f"timed out after {timeout} s waiting until {what}\n"
                                   f"{self.log_tails()}")
            time.sleep(0.2)

    def _conf_is_ours(self) -> bool:
        with self.conf.open() as handle:
            return handle.readline().rstrip("\n") == CONF_MARKER

    def _munge_works(self, munge_socket: Path) -> bool:
        if not munge_socket.exists():
            return False
        result = subprocess.run([program("munge"), "--no-input", f"--socket={munge_socket}"],
                                capture_output=True, check=False)
        return result.returncode == 0

    # ------------------------------------------------------------------ queries
    def run(self, *command: str, check: bool = True) -> str:
        """Run a SLURM client program against this cluster and return its output."""
        result = subprocess.run([program(command[0]), *command[1:]], env=self.env,
                                stdin=subprocess.DEVNULL, capture_output=True, text=True,
                                timeout=60, check=False)
        if check and result.returncode != 0:
            raise ClusterError(f"{' '.join(command)} failed ({result.returncode}): "
                               f"{result.stderr.strip()}")
        return result.stdout

    def node_state(self) -> str:
        return self.run("sinfo", "--noheader", "--Node", "--format=%T", check=False).strip()

    def jobs(self) -> list[dict[str, str]]:
        """Every job slurmctld still knows (finished ones for MinJobAge seconds)."""
        fields = {"id": "%i", "name": "%j", "comment": "%k", "state": "%T"}
        lines = self.run("squeue", "--noheader", "--states=all",
                         "--format=" + "|".join(fields.values())).splitlines()
        return [dict(zip(fields, line.split("|"))) for line in lines if line.strip()]

    def log_tails(self, lines: int = 30) -> str:
        parts = []
        for path in sorted(self.root.glob("*.log")) + sorted(self.root.glob("*.out")) + [
                self.root / "munge" / "munged.log"]:
            if path.exists():
                tail = path.read_text(errors="replace").splitlines()[-lines:]
                parts.append(f"--- {path.name}\n" + "\n".join(tail))
        return "\n".join(parts)

    # ------------------------------------------------------------------ stop
    def stop(self, timeout: float = 30) -> None:
        """Cancel what is still queued or running, then stop our daemons by PID."""
        slurmctld = self._daemons.get("slurmctld")
        if slurmctld is not None and slurmctld.poll() is None:
            self._cancel_jobs(timeout)
        for name in ("slurmd", "slurmctld", "munged"):
            process = self._daemons.pop(name, None)
            if process is None or process.poll() is not None:
                continue
            process.send_signal(signal.SIGTERM)
            try:
                process.wait(timeout)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
        if self.conf.exists() and self._conf_is_ours():
            self.conf.unlink()

    def _cancel_jobs(self, timeout: float) -> None:
        # Job steps run under slurmstepd, which outlives slurmd: let SLURM end them first.
        def active() -> list[str]:
            return self.run("squeue", "--noheader", f"--states={ACTIVE_JOB_STATES}",
                            "--format=%i", check=False).split()

        ids = active()
        if not ids:
            return
        self.run("scancel", *ids, check=False)
        deadline = time.monotonic() + timeout
        while active() and time.monotonic() < deadline:
            time.sleep(0.5)


@contextlib.contextmanager
def slurm_cluster(cpus: int | None = None, keep_files: bool = False) -> Iterator[SlurmCluster]:
    """Install SLURM if needed, start a single-node cluster, stop it on exit.

    The node offers ``cpus`` CPUs to jobs (default: the machine's); more than the machine has
    lets SLURM run more jobs side by side, sharing the cores. Raises ClusterUnavailable when
    SLURM cannot be installed, ClusterError when it does not start. The cluster's folder
    (logs, state) is removed unless ``keep_files``.
    """
    ensure_slurm()
    with machine_lock():
        # munged runs as the munge user, who must reach its folder inside this one.
        root = Path(tempfile.mkdtemp(prefix="slurm-cluster-"))
        root.chmod(0o755)
        cluster = SlurmCluster(root, cpus or os.cpu_count() or 1)
        try:
            cluster.start()
            yield cluster
        finally:
            cluster.stop()
            if not keep_files:
                shutil.rmtree(root, ignore_errors=True)


@contextlib.contextmanager
def machine_lock(timeout: float = 1800) -> Iterator[None]:
    """Wait until no other test cluster runs on this machine (they share DEFAULT_CONF)."""
    LOCK_FILE.parent.mkdir(parents=True, exist_ok=True)
    with LOCK_FILE.open("a") as handle:
        deadline = time.monotonic() + timeout
        while True:
            try:
                fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() > deadline:
                    raise ClusterError(f"another test cluster held {LOCK_FILE} for "
                                       f"{timeout} s") from None
                time.sleep(1)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


if __name__ == "__main__":
    with slurm_cluster(keep_files=True) as running:
        print(f"cluster up, configured by {running.conf}", flush=True)
        print(f"logs in {running.root}; Ctrl-C stops every daemon", flush=True)
        signal.signal(signal.SIGTERM, signal.default_int_handler)
        with contextlib.suppress(KeyboardInterrupt):
            signal.pause()
