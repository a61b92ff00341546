"""Time and peak memory of each generation stage, against the existing implementation.

    python benchmarks/bench_generate.py                 # N = 100k, 1M, 10M at d = 100
    python benchmarks/bench_generate.py --sizes 1000000 --dtype float32 --write /tmp/out
    python benchmarks/bench_generate.py --sizes 1000000 --nested   # nested vs default, same run

Each size runs in a fresh subprocess so peak memory (ru_maxrss) is that size's own.  Kernels
are compiled (and cached on disk) by a small warm-up run first, which is not timed.

Memory warm-up: on a virtual machine whose hypervisor backs guest memory lazily, the first touch
of never-used memory costs seconds per GB (measured here: 17.8 s for 4 GB the first time, 0.7 s
the second), which would swamp the code being measured.  Unless ``--cold``, each subprocess
first touches and frees a buffer of the expected peak size; the peak-memory figure is unaffected
(the buffer is freed before the run, and ru_maxrss of the run is at least the buffer anyway, so
the peak is read as the larger of the two and the buffer is sized below the real peak).
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import time

#: Spec section 9: the existing implementation on a 2-core, 24 GB machine (d = 100).
BASELINE = {100_000: {"total": 9.4, "peak_gb": 0.6}, 1_000_000: {"total": 118.0, "peak_gb": 5.5}}


def peak_gb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024**2


def warm_memory(gigabytes: float) -> None:
    """Touch and free a buffer so the hypervisor has backed that much guest memory."""
    import numpy as np

    buffer = np.empty(int(gigabytes * 2**30) // 8)
    buffer.fill(0.0)
    del buffer


def expected_peak_gb(size: int, dim: int, dtype: str) -> float:
    """A lower bound of the run's peak: X plus the graph and feature arrays (about 10 depths)."""
    return size * (dim * (4 if dtype == "float32" else 8) + 8 * 2 * 4 + 12 * 10) / 2**30


def run_one(size: int, dim: int, dtype: str, mode: str, write: str | None,
            cold: bool = False, nested: bool = False) -> dict:
    from percolation_tms import _progress
    from percolation_tms.dataset import generate, save_dataset
    from percolation_tms.embedding import embed
    from percolation_tms.features import ground_truth_features
    from percolation_tms.labels import draw_labels
    from percolation_tms.percolation import build_graph, plan_clusters

    _progress.set_quiet(True)
    generate(mode, 2000, dim, 0, dtype=dtype, nested=nested)  # warm-up: compile/load kernels
    if not cold:
        warm_memory(0.8 * expected_peak_gb(size, dim, dtype))
    times = {}
    start = time.perf_counter()
    plan = plan_clusters(mode, size, 0)
    graph = build_graph(plan, nested=nested)
    times["construct"] = time.perf_counter() - start
    t = time.perf_counter()
    X = embed(graph, dim, dtype=dtype)
    times["embed"] = time.perf_counter() - t
    t = time.perf_counter()
    values = draw_labels(graph)
    times["labels"] = time.perf_counter() - t
    t = time.perf_counter()
    features = ground_truth_features(graph, values.latent_value)
    times["features"] = time.perf_counter() - t
    times["total"] = time.perf_counter() - start
    if write:
        from percolation_tms.dataset.api import Dataset
        from percolation_tms.features import point_metadata

        t = time.perf_counter()
        save_dataset(Dataset(graph, X, values, features, point_metadata(graph), 10_000), write)
        times["write"] = time.perf_counter() - t
    return {"size": size, "dim": dim, "dtype": dtype, "mode": mode, "nested": nested, **times,
            "nnz": int(features.nnz), "peak_gb": peak_gb()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="100000,1000000,10000000")
    parser.add_argument("--dim", type=int, default=100)
    parser.add_argument("--dtype", default=None, help="default: float64, float32 at 10M+")
    parser.add_argument("--mode", default="distribution")
    parser.add_argument("--write", help="also time writing the files into this folder")
    parser.add_argument("--cold", action="store_true",
                        help="no memory warm-up (includes the hypervisor's first-touch cost)")
    parser.add_argument("--nested", action="store_true",
                        help="run every size in default and in nested mode (alternating "
                             "subprocesses, best of --repeat each) and report the ratios")
    parser.add_argument("--repeat", type=int, default=1, help="runs per size and mode")
    parser.add_argument("--nested-child", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--one", type=int, help=argparse.SUPPRESS)  # child process
    args = parser.parse_args()
    if args.one:
        dtype = args.dtype or ("float32" if args.one >= 10_000_000 else "float64")
        print(json.dumps(run_one(args.one, args.dim, dtype, args.mode, args.write, args.cold,
                                 args.nested_child)))
        return
    rows = []
    for size in map(int, args.sizes.split(",")):
        cmd = [sys.executable, __file__, "--one", str(size), "--dim", str(args.dim),
               "--mode", args.mode] + (["--dtype", args.dtype] if args.dtype else []) \
            + (["--write", args.write] if args.write else []) + (["--cold"] if args.cold else [])
        if args.nested:
            _compare_nested(cmd, size, args.repeat)
            continue
        rows.append(json.loads(subprocess.run(cmd, check=True, capture_output=True,
                                              text=True).stdout.strip().splitlines()[-1]))
        r = rows[-1]
        stages = " ".join(f"{k} {r[k]:.2f}s" for k in ("construct", "embed", "labels",
                                                        "features", "write") if k in r)
        base = BASELINE.get(size)
        ratio = f", {base['total'] / r['total']:.0f}x faster than the existing " \
                f"implementation ({base['total']} s, {base['peak_gb']} GB)" if base else ""
        print(f"N = {size:>11,} d = {r['dim']} {r['dtype']} {r['mode']}: {stages} | "
              f"total {r['total']:.2f} s, peak {r['peak_gb']:.2f} GB{ratio}", flush=True)


def _compare_nested(cmd: list[str], size: int, repeat: int) -> None:
    """Default and nested mode in alternating subprocesses; best time of each stage."""
    best = {False: None, True: None}
    for _ in range(repeat):
        for nested in (False, True):
            out = subprocess.run(cmd + (["--nested-child"] if nested else []), check=True,
                                 capture_output=True, text=True).stdout.strip().splitlines()[-1]
            r = json.loads(out)
            if best[nested] is None:
                best[nested] = r
            else:
                best[nested] = {k: min(v, r[k]) if isinstance(v, float) else v
                                for k, v in best[nested].items()}
    stages = ("construct", "embed", "labels", "features", "total", "peak_gb")
    for nested in (False, True):
        r = best[nested]
        print(f"N = {size:>11,} {r['mode']} {'nested ' if nested else 'default'}: "
              + " ".join(f"{k} {r[k]:.2f}" for k in stages) + f" nnz {r['nnz']:,}", flush=True)
    a, b = best[False], best[True]
    print(f"N = {size:>11,} nested / default: time {b['total'] / a['total']:.2f}x (construct "
          f"{b['construct'] / a['construct']:.2f}x), peak memory "
          f"{b['peak_gb'] / a['peak_gb']:.2f}x", flush=True)


if __name__ == "__main__":
    main()
