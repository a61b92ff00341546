"""Writing a dataset's files: ``io.save_arrays`` against ``np.save`` of the same bytes.

    python benchmarks/bench_io.py                        # N = 1M, d = 100, in /tmp
    python benchmarks/bench_io.py --size 100000 --dir /work/scratch --repeats 5

Builds a dataset once in memory (not timed), then writes its files in turns (each turn in
another order, each write after an untimed ``os.sync``), to the same disk, each write flushed
to it (fsync, as ``io.atomic_open`` does):

* ``save_arrays``  -- the package's writer (the four files ``generate`` writes);
* ``write_array``  -- the writer it replaced (``np.lib.format.write_array`` into each zip
  entry, which copies every 16 MiB block into a new bytes object);
* ``np.save``      -- every array of the same files as a bare ``.npy``, then fsync: the disk's
  speed for those bytes, the floor.

Prints the median and the best wall time of each, the median CPU time (user + system), and
their ratios to ``np.save``. The machine may be
shared: the ratios, measured in the same run, are what to compare; the load average is printed.
"""

from __future__ import annotations

import argparse
import os
import resource
import shutil
import statistics
import tempfile
import time
import zipfile
from pathlib import Path

import numpy as np


def fsync_path(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def cpu_seconds() -> float:
    """User + system CPU time of this process: less sensitive than the wall time to what the
    rest of a shared machine does."""
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def write_array_npz(path: Path, arrays: dict) -> None:
    """The writer before streaming (identical bytes)."""
    with open(path, "wb") as handle:
        with zipfile.ZipFile(handle, mode="w", compression=zipfile.ZIP_STORED,
                             allowZip64=True) as archive:
            for key, value in arrays.items():
                entry = zipfile.ZipInfo(f"{key}.npy", date_time=(1980, 1, 1, 0, 0, 0))
                entry.external_attr = 0o644 << 16
                with archive.open(entry, "w", force_zip64=True) as member:
                    np.lib.format.write_array(member, np.asanyarray(value), allow_pickle=False)
        handle.flush()
        os.fsync(handle.fileno())


def dataset_files(size: int, dim: int) -> dict[str, dict[str, np.ndarray]]:
    """name -> arrays of each file generate writes (the sparse file as its arrays)."""
    from percolation_tms import _progress
    from percolation_tms.dataset import generate

    _progress.set_quiet(True)
    ds = generate("distribution", size, dim, 0)
    meta = ds.metadata.as_dict()
    f = ds.features
    graph = ds.graph
    return {
        "main": {"X": ds.X, "y": ds.y, **meta},
        "features": {"indices": f.indices, "indptr": f.indptr,
                     "format": np.bytes_(b"csr"), "shape": np.asarray(f.shape), "data": f.data},
        "metadata": meta,
        "graph": {k: v for k, v in vars(graph).items() if isinstance(v, np.ndarray)},
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--size", type=int, default=1_000_000)
    parser.add_argument("--dim", type=int, default=100)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--dir", default=None, help="where to write (default: a temp folder)")
    args = parser.parse_args()

    from percolation_tms import io

    files = dataset_files(args.size, args.dim)
    total = sum(a.nbytes for arrays in files.values() for a in map(np.asanyarray,
                                                                 arrays.values()))
    root = Path(tempfile.mkdtemp(prefix="bench_io-", dir=args.dir))

    def run_save_arrays(folder: Path) -> None:
        for name, arrays in files.items():
            io.save_arrays(folder / f"{name}.npz", **arrays)

    def run_write_array(folder: Path) -> None:
        for name, arrays in files.items():
            write_array_npz(folder / f"{name}.npz", arrays)

    def run_np_save(folder: Path) -> None:
        for name, arrays in files.items():
            for key, value in arrays.items():
                path = folder / f"{name}-{key}.npy"
                np.save(path, value)
                fsync_path(path)

    writers = {"save_arrays": run_save_arrays, "write_array": run_write_array,
               "np.save": run_np_save}
    times: dict[str, list[float]] = {name: [] for name in writers}
    cpu: dict[str, list[float]] = {name: [] for name in writers}
    try:
        names = list(writers)
        for turn in range(args.repeats):
            # Each turn starts with another writer, and every write starts with nothing dirty
            # in the page cache (os.sync, not timed): the write after a large file's deletion
            # otherwise pays for the deletion (measured: 2-4x the time of the next one).
            for name in names[turn % len(names):] + names[:turn % len(names)]:
                run = writers[name]
                folder = root / name.replace(".", "_")
                folder.mkdir()
                os.sync()
                start, start_cpu = time.perf_counter(), cpu_seconds()
                run(folder)
                times[name].append(time.perf_counter() - start)
                cpu[name].append(cpu_seconds() - start_cpu)
                shutil.rmtree(folder)
    finally:
        shutil.rmtree(root, ignore_errors=True)

    floor = statistics.median(times["np.save"])
    print(f"N = {args.size:,}, d = {args.dim}: {total / 1e9:.2f} GB in 4 files, "
          f"{args.repeats} turns; load average {os.getloadavg()[0]:.2f} "
          f"on {os.cpu_count()} cores")
    cpu_floor = statistics.median(cpu["np.save"])
    print(f"{'writer':<12} {'median s':>9} {'best s':>8} {'GB/s':>6} {'x np.save':>10} "
          f"{'CPU s':>6} {'x np.save':>10}")
    for name, values in times.items():
        median, median_cpu = statistics.median(values), statistics.median(cpu[name])
        print(f"{name:<12} {median:9.2f} {min(values):8.2f} {total / 1e9 / median:6.2f} "
              f"{median / floor:10.2f} {median_cpu:6.2f} {median_cpu / cpu_floor:10.2f}")
    print("encoding alone, into a sink that keeps nothing (best of the turns):")
    for name, seconds in sink_times(files, args.repeats).items():
        print(f"{name:<12} {seconds:9.3f} s")


class NullSink:
    """A file that keeps nothing: what a writer costs before the disk."""

    def write(self, data) -> int:
        return memoryview(data).nbytes

    def writelines(self, lines) -> None:
        for line in lines:
            self.write(line)


def sink_times(files, repeats: int) -> dict[str, float]:
    """Best wall time of each writer's .npy encoding of every array into a NullSink."""
    from percolation_tms import io

    arrays = [np.asanyarray(a) for group in files.values() for a in group.values()]
    encoders = {"save_arrays": io._write_npy,
                "write_array": lambda sink, a: np.lib.format.write_array(sink, a,
                                                                         allow_pickle=False)}
    best = {}
    for name, encode in encoders.items():
        runs = []
        for _ in range(repeats):
            start = time.perf_counter()
            for array in arrays:
                encode(NullSink(), array)
            runs.append(time.perf_counter() - start)
        best[name] = min(runs)
    return best


if __name__ == "__main__":
    main()
