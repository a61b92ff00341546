"""Microseconds per training step of the toy-model trainer (data + forward + backward + AdamW).

Workloads (batch 1024, tied):
  sweep    n = 20, m = 5, the five sparsities of specification section 4, I_i = 0.7^i;
  n100     n = 100, m = 20, 10 instances with feature probability 20^-t, t = 0, 1/9, ..., 1
           (S from 0 to 0.95; the classic setting of Elhage et al.), I_i = 100^(-i/99);
  n100d    n = 100, m = 20, 10 dense instances (S = 0): the worst case for this trainer, which
           exploits sparsity, and the same work as the PyTorch baseline does at any S.

Printed: best-of-repeats wall time per step at 1 and 2 numba threads, process CPU time per
step, peak resident memory, and the ratio to the PyTorch-on-CPU figures of the issue (same
2-core machine): 1.3-2.3 ms (sweep) and 13-15 ms (n = 100).  Wall times need an otherwise idle
machine; on a busy one the "2-core estimate" is the figure to read: every instance is timed
alone on one thread (CPU time), and since the trainer gives each instance to one thread, a step
on two idle cores takes as long as the busier thread's share under the trainer's own split.
Run: python benchmarks/bench_toy.py [--steps N] [--repeats R].
"""

from __future__ import annotations

import argparse
import resource
import time

import numba
import numpy as np

from percolation_tms.toymodels.config import ToyConfig, importance_vector
from percolation_tms.toymodels.data import FeatureSource, synthetic_source
from percolation_tms.toymodels.train import lane_split, train_instances

PYTORCH_MS = {"sweep": (1.3, 2.3), "n100": (13.0, 15.0), "n100d": (13.0, 15.0)}


def workload(name):
    if name == "sweep":
        sparsity = np.array([0.0, 0.7, 0.9, 0.99, 0.999])
        n, m, importance = 20, 5, importance_vector(0.7, 20)
    else:
        n, m, importance = 100, 20, importance_vector("log100", 100)
        sparsity = (1.0 - 20.0 ** -np.linspace(0, 1, 10)) if name == "n100" else np.zeros(10)
    probability = np.repeat((1.0 - sparsity)[:, None], n, axis=1)
    return (m, synthetic_source(probability), np.repeat(importance[None], len(sparsity), 0),
            np.zeros(len(sparsity), dtype=np.int64))


def time_steps(m, source, importance, seeds, steps, threads):
    numba.set_num_threads(threads)
    wall, cpu = time.perf_counter(), time.process_time()
    train_instances("tied", m, source, importance, seeds, steps=steps, batch_size=1024,
                    optimizer=ToyConfig().optimizer, eval_batch_size=1, history_every=steps,
                    progress=False)
    return ((time.perf_counter() - wall) / steps * 1e6,
            (time.process_time() - cpu) / steps * 1e6)


def two_core_estimate(m, source, importance, seeds, steps, repeats):
    """Busiest lane's summed single-thread CPU time per step, under the trainer's split."""
    alone = []
    for inst in range(len(seeds)):
        one = FeatureSource(*(a[inst:inst + 1] for a in source[:4]), *source[4:])
        alone.append(min(time_steps(m, one, importance[inst:inst + 1], seeds[inst:inst + 1],
                                    steps, 1)[1] for _ in range(repeats)))
    lane_ptr, order = lane_split(source, m, 2)
    alone = np.array(alone)[order]
    return max(alone[lane_ptr[0]:lane_ptr[1]].sum(), alone[lane_ptr[1]:].sum()), alone.sum()


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=0, help="steps per timing (default: "
                        "2000 for the sweep, 500 for n = 100)")
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    max_threads = min(2, numba.config.NUMBA_NUM_THREADS)
    print(f"numba {numba.__version__}, threading layer after first use, up to {max_threads} "
          f"threads; best of {args.repeats}")
    print(f"{'workload':8s} {'threads':>7s} {'us/step':>9s} {'cpu us/step':>11s} "
          f"{'PyTorch ms':>10s} {'speed-up':>11s}")
    estimates = []
    for name in ("sweep", "n100", "n100d"):
        m, source, importance, seeds = workload(name)
        steps = args.steps or (2000 if name == "sweep" else 500)
        time_steps(m, source, importance, seeds, 2, max_threads)  # compile
        low, high = PYTORCH_MS[name]
        for threads in sorted({1, max_threads}):
            best = min((time_steps(m, source, importance, seeds, steps, threads)
                        for _ in range(args.repeats)), key=lambda t: t[0])
            print(f"{name:8s} {threads:7d} {best[0]:9.1f} {best[1]:11.1f} "
                  f"{low:4.1f}-{high:<4.1f}  {low * 1e3 / best[0]:4.1f}-{high * 1e3 / best[0]:.1f}x")
        estimates.append((name, *two_core_estimate(m, source, importance, seeds, steps // 2,
                                                   args.repeats)))
    print(f"\n{'workload':8s} {'instances alone, summed':>24s} {'2-core estimate':>16s} "
          f"{'speed-up':>11s}")
    for name, busiest, total in estimates:
        low, high = PYTORCH_MS[name]
        print(f"{name:8s} {total:21.1f} us {busiest:13.1f} us  "
              f"{low * 1e3 / busiest:4.1f}-{high * 1e3 / busiest:.1f}x")
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"peak resident memory {peak:.0f} MB (process, including numba and numpy)")


if __name__ == "__main__":
    main()
