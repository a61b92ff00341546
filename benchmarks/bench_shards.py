"""A dataset too big for one job, generated as shards one at a time: time and peak memory per
shard (default: 100M points at d = 100, float32, 20 shards of about 5M points).

    python benchmarks/bench_shards.py                        # 1e8 points, 20 shards
    python benchmarks/bench_shards.py --size 10000000 --shards 4 --keep DIR

Every shard runs as its own process (as on a cluster: one job per shard), so its peak memory
(ru_maxrss) is its own.  Shard files are written to a scratch folder and deleted after each
shard is measured unless ``--keep`` is given (100M points at d = 100 in float32 are 40 GB).
"""

from __future__ import annotations

import argparse
import json
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path


def child(manifest: str, index: int, outdir: str) -> None:
    from percolation_tms import _progress
    from percolation_tms.shards import build_shard

    _progress.set_quiet(True)
    start = time.perf_counter()
    path = build_shard(manifest, index, outdir)
    elapsed = time.perf_counter() - start
    print(json.dumps({"seconds": elapsed, "bytes": path.stat().st_size,
                      "peak_gb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20}))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", type=int, default=100_000_000)
    parser.add_argument("--dim", type=int, default=100)
    parser.add_argument("--dtype", default="float32")
    parser.add_argument("--shards", type=int, default=20)
    parser.add_argument("--keep", help="keep the shard files in this folder")
    parser.add_argument("--child", nargs=3, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(args.child[0], int(args.child[1]), args.child[2])
        return
    from percolation_tms.shards import plan_shards, write_plan

    folder = Path(args.keep) if args.keep else Path(tempfile.mkdtemp(prefix="shards-"))
    folder.mkdir(parents=True, exist_ok=True)
    start = time.perf_counter()
    manifest, plan = plan_shards("distribution", args.size, args.dim, 0, args.shards,
                                 dtype=args.dtype)
    path = write_plan(folder, manifest, plan)
    plan_seconds = time.perf_counter() - start
    plan_peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20
    print(f"plan: {args.size:,} points, {manifest.n_clusters:,} clusters, {args.shards} shards "
          f"in {plan_seconds:.1f} s, peak {plan_peak:.2f} GB", flush=True)
    total, total_bytes, peaks = 0.0, 0, []
    for shard in manifest.shards:
        result = subprocess.run([sys.executable, __file__, "--child", str(path),
                                 str(shard.index), str(folder)],
                                check=True, capture_output=True, text=True)
        r = json.loads(result.stdout.strip().splitlines()[-1])
        total += r["seconds"]
        total_bytes += r["bytes"]
        peaks.append(r["peak_gb"])
        print(f"shard {shard.index:3d}: {shard.point_stop - shard.point_start:>11,} points, "
              f"{r['seconds']:6.1f} s (build + embed + labels + features + write), "
              f"peak {r['peak_gb']:.2f} GB, file {r['bytes'] / 2**30:.2f} GiB", flush=True)
        if not args.keep:
            (folder / shard.file).unlink()
    print(f"total: {plan_seconds + total:.0f} s on one machine, one shard at a time; largest "
          f"shard peak {max(peaks):.2f} GB; {total_bytes / 2**30:.1f} GiB of shard files")
    if not args.keep:
        shutil.rmtree(folder)


if __name__ == "__main__":
    main()
