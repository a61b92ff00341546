"""Peak memory of the dataset commands, estimated before any work, and the check against what
the machine has.

One estimate serves both the command line (``generate`` refuses a dataset that would not fit,
before building anything) and the workflow (``workflow/rules/common.smk`` asks the scheduler
for twice the estimate as each job's ``mem_mb``).

The coefficients are fits to peaks measured with ``/usr/bin/time -v`` (maximum resident set
size) at d = 100 and N = 1e5, 1e6, 3e6, both modes, float64 and float32 (docs/percolation.md,
"Memory"); each is rounded up, so the estimate bounds the measured peak by a few per cent.
"""

from __future__ import annotations

import math
import os
from pathlib import Path

#: Python with numpy, scipy and numba loaded, and the kernels' code: the peak of a command on
#: a tiny dataset, numba's cache filled.  Measured 165 MB for ``generate`` at N = 500, in the
#: development and in a fresh environment alike (start-up imports only the command's own
#: stage since the stage packages export lazily; before, it loaded every stage and took
#: 244-300 MB); 210 MB leaves room for environments that differ.  Compiling the kernels (the
#: first run in a checkout) costs about 140 MB more, outside the estimate.
INTERPRETER_BYTES = 210 * 2**20

#: The fit plus 3 %: the measured peaks scatter by about 1 % around it.
FIT_MARGIN = 1.03

#: Bytes per stored value of the feature matrix: a float64 value and an int32 column index.
FEATURE_VALUE_BYTES = 12

# stage -> (copies of X, copies of the feature matrix, bytes per point). A stage holds X
# (N x d) some number of times, the feature matrix (one stored value per point and ancestor
# latent: N times the mean depth) and per-point arrays (graph, values, metadata). Fitted to
# peaks measured at d = 100 (docs/performance.md, "Memory"): the per-point bytes are the
# fit's residual (40-95 B) rounded up.
_COEFFICIENTS = {
    "generate": (1.0, 1.0, 200),
    "generate_graph": (0.0, 0.0, 80),
    "embed": (1.0, 0.0, 120),
    "label": (0.0, 0.0, 80),
    "export": (1.0, 1.0, 150),
    "generate_shard": (1.0, 1.0, 150),
    # float64 copies of X for the baselines (train, test, centred) and the k-NN search's
    # blocks: a 256 MiB distance block, its two temporaries and its argpartition indices.
    # Measured: 1.5 GB at N = 1e5, d = 100 (distribution), 3.0 GB at 1e6; at least 4.4 GB at
    # 3e5 in one_cluster mode (mean depth 704).
    "describe": (3.0, 1.5, 400),
}
_DESCRIBE_BLOCKS = 4 * 2**28
STAGES = tuple(_COEFFICIENTS)
_ITEMSIZE = {"float64": 8, "float32": 4}


def typical_mean_depth(mode: str, size: int) -> float:
    """The mean number of ancestor latents of a point (its row's stored values in the feature
    matrix) that a dataset of this mode and size typically has.

    One cluster of N points has trees of mean depth about 1.2 sqrt(N), but it varies with
    the seed (measured: 0.6 to 2.1 sqrt(N) over 3-20 seeds at each N = 1e3 .. 1e6); in
    distribution mode the clusters are small and the mean depth grows like ln N (at most 6.2
    at N = 1e3, 10.4 at 1e5, 9.8 at 1e6). Custom mode can come as close to one cluster as
    its create_prob allows, so it gets that figure. Once a graph is built, its own mean depth
    (``graph.depth[:N].mean()``) replaces this guess.
    """
    size = max(int(size), 1)
    if mode == "distribution":
        return 0.75 * math.log(size) + 2.0
    return 1.25 * math.sqrt(size) + 20.0


class MemoryCheckError(ValueError):
    """A command would need more memory than the machine has available."""


def estimate_peak_bytes(mode: str, size: int, dim: int, dtype: str = "float64",
                        stage: str = "generate", mean_depth: float | None = None) -> int:
    """Expected peak resident memory (bytes) of one dataset command.

    Parameters
    ----------
    mode : {"one_cluster", "distribution", "custom"}
    size : int
        Number of points N (of the shard, for ``generate_shard``).
    dim : int
        Embedding dimension d (ignored by the graph stages).
    dtype : {"float64", "float32"}
        dtype of X; ``describe`` computes in float64 whatever X's dtype.
    stage : str
        One of :data:`STAGES`: ``generate`` is the whole command; the others are the workflow's
        jobs of the same names.
    mean_depth : float, optional
        The graph's mean point depth when it is known; else :func:`typical_mean_depth`.
    """
    if stage not in _COEFFICIENTS:
        raise ValueError(f"stage must be one of {', '.join(STAGES)}; got {stage!r}")
    if dtype not in _ITEMSIZE:
        raise ValueError(f"dtype must be float64 or float32; got {dtype!r}")
    x_copies, feature_copies, per_point = _COEFFICIENTS[stage]
    itemsize = 8 if stage == "describe" else _ITEMSIZE[dtype]
    extra = _DESCRIBE_BLOCKS if stage == "describe" else 0
    if mean_depth is None:
        mean_depth = typical_mean_depth(mode, size)
    features = FEATURE_VALUE_BYTES * size * mean_depth
    return int(FIT_MARGIN * (INTERPRETER_BYTES + extra + x_copies * size * dim * itemsize
                             + feature_copies * features + per_point * size))


def available_bytes() -> int | None:
    """Memory this process can still use: MemAvailable of /proc/meminfo, or the room left
    under its cgroup's limit if that is smaller (a container, a SLURM job); None if unknown."""
    candidates = [value for value in (_meminfo_available(), _cgroup_room()) if value is not None]
    return min(candidates) if candidates else None


def check_fits(mode: str, size: int, dim: int, dtype: str = "float64",
               stage: str = "generate", mean_depth: float | None = None,
               available: int | None = None) -> None:
    """Raise MemoryCheckError if the stage's estimated peak exceeds the available memory.

    ``available`` defaults to :func:`available_bytes` plus what this process already holds
    (a check after the graph is built counts the graph in the peak); nothing is checked when
    the machine's memory is unknown.
    """
    needed = estimate_peak_bytes(mode, size, dim, dtype, stage, mean_depth)
    if available is None:
        free = available_bytes()
        available = None if free is None else free + _resident_bytes()
    if available is None or needed <= available:
        return
    hints = []
    if dtype == "float64" and stage != "describe":
        smaller = estimate_peak_bytes(mode, size, dim, "float32", stage, mean_depth)
        hints.append(f"--dtype float32 (about {_gib(smaller)})")
    hints.append("building it in shards (plan-shards, generate-shard, export --manifest; "
                 "docs/performance.md)")
    depth = "" if mean_depth is None else f" (its trees' mean depth: {mean_depth:.0f})"
    raise MemoryCheckError(
        f"N = {size:,}, d = {dim}, {dtype} needs about {_gib(needed)} of memory{depth}, and "
        f"{_gib(available)} is available: try {' or '.join(hints)}, or pass "
        "--ignore-memory-check to try anyway")


def _resident_bytes() -> int:
    try:
        return int(Path("/proc/self/statm").read_text().split()[1]) * os.sysconf("SC_PAGE_SIZE")
    except (OSError, ValueError, IndexError):
        return 0


def _gib(n_bytes: int) -> str:
    return f"{n_bytes / 2**30:.1f} GiB"


def _meminfo_available() -> int | None:
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemAvailable:"):
                return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        pass
    return None


def _read_int(path: Path) -> int | None:
    try:
        text = path.read_text().strip()
    except OSError:
        return None
    return int(text) if text.isdigit() else None  # "max": no limit


def _reclaimable(stat_file: Path) -> int:
    """Page cache the kernel would drop before failing an allocation (inactive files)."""
    try:
        for line in stat_file.read_text().splitlines():
            key, _, value = line.partition(" ")
            if key in ("inactive_file", "total_inactive_file"):
                return int(value)
    except (OSError, ValueError):
        pass
    return 0


def _cgroup_room() -> int | None:
    """Limit minus usage of the tightest cgroup (v2 or v1) this process is in."""
    try:
        lines = Path("/proc/self/cgroup").read_text().splitlines()
    except OSError:
        return None
    folders = []
    for line in lines:
        _, controllers, path = line.split(":", 2)
        if controllers == "":  # cgroup v2
            folders += [(Path("/sys/fs/cgroup") / path.lstrip("/"), "memory.max",
                         "memory.current"), (Path("/sys/fs/cgroup"), "memory.max",
                                             "memory.current")]
        elif "memory" in controllers.split(","):  # cgroup v1
            root = Path("/sys/fs/cgroup/memory")
            folders += [(root / path.lstrip("/"), "memory.limit_in_bytes",
                         "memory.usage_in_bytes"),
                        (root, "memory.limit_in_bytes", "memory.usage_in_bytes")]
    rooms = []
    for folder, limit_file, usage_file in folders:
        limit, usage = _read_int(folder / limit_file), _read_int(folder / usage_file)
        if limit is None or usage is None or limit >= 2**60:  # no limit set
            continue
        rooms.append(limit - usage + _reclaimable(folder / "memory.stat"))
    return min(rooms) if rooms else None
