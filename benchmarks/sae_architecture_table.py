"""Every SAE architecture on the small known hierarchical dictionary, over several seeds: the
architecture table of docs/sae.md (SPEC-sae-hierarchy section 5's ordering, reproduced or
refuted, with the numbers).

Each (kind, seed) is one run of ``percolation-tms sae-synthetic --structure hierarchical`` (the
command the workflow's ``sae_hierarchy`` rule runs) with data seed = SAE seed = seed, every kind
at L0 about 8 (k 8; JumpReLU lambda 0.15; ReLU l1 1.5), width 2d = 128, 20 epochs.  Prints two
markdown tables, mean +- standard deviation over the seeds: the metrics, and absorption by the
parent's depth.

    python benchmarks/sae_architecture_table.py                 # 5 kinds x 3 seeds, ~4 min
    python benchmarks/sae_architecture_table.py --seeds 0,1,2,3,4 --out results/arch_table
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pandas as pd

KINDS = ("matryoshka", "jumprelu", "batchtopk", "topk", "relu")
LABELS = {"matryoshka": "Matryoshka BatchTopK", "jumprelu": "JumpReLU (tanh)",
          "batchtopk": "BatchTopK", "topk": "TopK", "relu": "ReLU + L1"}
SPARSITY = {"matryoshka": ["--k", "8"], "batchtopk": ["--k", "8"], "topk": ["--k", "8"],
            "jumprelu": ["--l0-coefficient", "0.15"], "relu": ["--l1", "1.5"]}
METRICS = [("mean_l0", "L0", 2), ("latent_f1", "latent F1", 3), ("mcc", "MCC", 3),
           ("explained_variance", "explained variance", 3),
           ("absorption_fraction", "GT absorption fraction", 3),
           ("full_absorption", "full absorption", 3),
           ("mean_absorption", "activation-space absorption", 3)]
DEPTH_METRICS = [("gt_parent_fraction", "GT absorption fraction"),
                 ("gt_parent_full", "full absorption"),
                 ("mean_absorption", "activation-space absorption")]


def run(kind: str, seed: int, args, out: Path) -> tuple[pd.DataFrame, pd.DataFrame, float]:
    out.mkdir(parents=True, exist_ok=True)
    command = [sys.executable, "-m", "percolation_tms", "sae-synthetic", "--structure",
               "hierarchical", "--n-samples", str(args.n_samples), "--data-seed", str(seed),
               "--seed", str(seed), "--kind", kind, *SPARSITY[kind], "--dict-ratios",
               str(args.dict_ratio), "--epochs", str(args.epochs), "--out", str(out), "-q"]
    start = time.perf_counter()
    done = subprocess.run(command, check=False, capture_output=True, text=True)
    if done.returncode != 0:
        sys.exit(f"{kind} seed {seed} failed:\n{done.stderr.strip()}")
    elapsed = time.perf_counter() - start
    depth = pd.read_csv(out / "absorption_by_depth.csv")
    return pd.read_csv(out / "metrics.csv"), depth[depth.size_band == "all"], elapsed


def mean_std(values: pd.Series, digits: int) -> str:
    if len(values) < 2:
        return f"{values.mean():.{digits}f}"
    return f"{values.mean():.{digits}f} ± {values.std(ddof=1):.{digits}f}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--kinds", default=",".join(KINDS))
    parser.add_argument("--seeds", default="0,1,2")
    parser.add_argument("--n-samples", type=int, default=100_000)
    parser.add_argument("--epochs", type=int, default=20)
    parser.add_argument("--dict-ratio", type=float, default=2.0)
    parser.add_argument("--out", type=Path, default=None,
                        help="keep every run's files here (default: a temporary folder)")
    args = parser.parse_args()
    kinds = [k for k in args.kinds.split(",") if k]
    unknown = sorted(set(kinds) - set(KINDS))
    if unknown:
        parser.error(f"--kinds: unknown {', '.join(unknown)} (choose from {', '.join(KINDS)})")
    seeds = [int(s) for s in args.seeds.split(",")]
    os.environ.setdefault("NUMBA_NUM_THREADS", "2")
    with tempfile.TemporaryDirectory() as scratch:
        root = args.out or Path(scratch)
        metrics, depths = [], []
        for kind in kinds:
            for seed in seeds:
                row, depth, elapsed = run(kind, seed, args, root / kind / f"seed{seed}")
                print(f"{kind:10s} seed {seed}: L0 {row.mean_l0.iloc[0]:.2f}, F1 "
                      f"{row.latent_f1.iloc[0]:.3f}, MCC {row.mcc.iloc[0]:.3f} ({elapsed:.0f} s)",
                      file=sys.stderr)
                metrics.append(row.assign(seed=seed))
                depths.append(depth.assign(seed=seed))
    metrics, depths = pd.concat(metrics), pd.concat(depths)
    print(f"\n{args.n_samples:,} points, width {args.dict_ratio:g} d, {args.epochs} epochs, "
          f"seeds {args.seeds} (mean ± std)\n")
    print("| kind | " + " | ".join(label for _, label, _ in METRICS) + " |")
    print("|---" * (len(METRICS) + 1) + "|")
    for kind in kinds:
        rows = metrics[metrics.kind == kind]
        print(f"| {LABELS[kind]} | "
              + " | ".join(mean_std(rows[col], digits) for col, _, digits in METRICS) + " |")
    print("\nBy depth of the parent:\n")
    levels = sorted(depths.parent_depth.unique())
    print("| kind | " + " | ".join(f"{label}, depth {' / '.join(map(str, levels))}"
                                   for _, label in DEPTH_METRICS) + " |")
    print("|---" * (len(DEPTH_METRICS) + 1) + "|")
    for kind in kinds:
        rows = depths[depths.kind == kind]
        cells = [" / ".join(f"{rows[rows.parent_depth == lv][col].mean():.3f}" for lv in levels)
                 for col, _ in DEPTH_METRICS]
        print(f"| {LABELS[kind]} | " + " | ".join(cells) + " |")


if __name__ == "__main__":
    main()
