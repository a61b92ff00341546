"""Benchmark of the basin stage on one toy instance (n = 20, m = 5, tied, D = 120, evaluation
set 1024): ray directions per second of the volume estimator, and the SGLD LLC against
devinterp's SGLD optimizer on CPU with the same chains, draws, step size, n beta and gamma.

devinterp (and torch) are optional: without them the comparison is skipped with a message.
devinterp 2.x's ``sample`` expects a tokenised language-model dataset, so its documented SGLD
optimizer (``SGMCMC.sgld``, the update of spec 5.2) is driven by the loop of its sampler:
full batch, the loss recorded at the pre-update weights, burn-in then draws, chains one after
the other.

    PYTHONPATH=src OMP_WAIT_POLICY=passive /work/benchvenv/bin/python benchmarks/bench_basins.py
"""

from __future__ import annotations

import argparse
import math
import resource
import sys
import time

import numpy as np


def peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def train_instance(steps: int, sparsity: float):
    from percolation_tms.toymodels import ToyConfig, train_toy

    run = train_toy(ToyConfig(model="tied", n_features=20, n_hidden=5, sparsities=(sparsity,),
                              seeds=(0,), steps=steps, eval_batch_size=10_000), progress=False)
    weights = {"W": run.result.W, "b": run.result.b, "importance": run.instances.importance,
               "feature_probability": run.instances.probability,
               "sparsity": run.instances.sparsity, "seed": run.instances.seed}
    return ("tied", weights)


def bench_volume(run, n_directions: int, eval_samples: int) -> dict:
    from percolation_tms.basins.config import BasinConfig
    from percolation_tms.basins.toy import ToyCost, load_instance, toy_basin_volume

    inst = load_instance(run, 0)
    cost = ToyCost(inst, "output", eval_samples)
    warm = BasinConfig(n_directions=20, eval_samples=eval_samples, n_bootstrap=50)
    toy_basin_volume(run, 0, warm, cost=cost)  # compile
    config = BasinConfig(n_directions=n_directions, eval_samples=eval_samples)
    start = time.perf_counter()
    basin = toy_basin_volume(run, 0, config, cost=cost)[0]
    seconds = time.perf_counter() - start
    points = np.repeat(inst.anchor[None], 1000, axis=0)
    cost(points)
    t0 = time.perf_counter()
    cost(points)
    per_eval = (time.perf_counter() - t0) / 1000
    return {"seconds": seconds, "directions_per_s": n_directions / seconds,
            "evaluations": basin.rays.n_evaluations, "seconds_per_evaluation": per_eval,
            "log_prob": basin.gaussian.log_mean_exp, "interval": basin.gaussian.interval,
            "log_volume": basin.uniform.log_mean_exp, "ess": basin.gaussian.ess,
            "D": inst.n_params, "cost": cost}


def bench_llc_ours(cost, settings: dict) -> dict:
    from percolation_tms.basins import estimate_llc
    from percolation_tms.basins.toy import ToyLoss

    anchor = cost.instance.anchor
    small = dict(settings, n_draws=5, n_burnin=0)
    estimate_llc(ToyLoss(cost), anchor, cost.n_samples, **small)  # compile
    start = time.perf_counter()
    est = estimate_llc(ToyLoss(cost), anchor, cost.n_samples, **settings)
    return {"seconds": time.perf_counter() - start, "llc_mean": est.llc_mean,
            "llc_std": est.llc_std, "per_chain": est.llc_per_chain}


def bench_llc_devinterp(cost, settings: dict, threads: int) -> dict | None:
    try:
        import torch
        from devinterp.optim.sgmcmc import SGMCMC
    except ImportError as exc:
        print(f"devinterp comparison skipped: {exc} (install torch and devinterp to run it)",
              file=sys.stderr)
        return None
    import warnings

    warnings.filterwarnings("ignore")
    torch.set_num_threads(threads)
    torch.manual_seed(0)
    inst = cost.instance
    n, m = inst.n_features, inst.n_hidden
    # the evaluation set, empty rows expanded again (devinterp gets every sample)
    rows = np.repeat(cost.rows, cost.row_weight.astype(np.int64), axis=0)
    target = np.repeat(cost.target, cost.row_weight.astype(np.int64), axis=0)
    X = torch.tensor(rows, dtype=torch.float64)
    Y = torch.tensor(target, dtype=torch.float64)
    importance = torch.tensor(inst.importance, dtype=torch.float64)

    class Tied(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.W = torch.nn.Parameter(torch.tensor(inst.anchor[:m * n].reshape(m, n)))
            self.b = torch.nn.Parameter(torch.tensor(inst.anchor[m * n:]))

        def forward(self, x):
            return torch.relu((x @ self.W.T) @ self.W + self.b)

    def loss_fn(model):
        return (((model(X) - Y) ** 2) * importance).sum(dim=1).mean() / n

    per_chain, start = [], time.perf_counter()
    for chain in range(settings["n_chains"]):
        model = Tied()
        init_loss = float(loss_fn(model))
        optimizer = SGMCMC.sgld(model.parameters(), lr=settings["step_size"],
                                localization=settings["localization"],
                                nbeta=settings["nbeta"])
        generator = torch.Generator().manual_seed(chain)
        draws = []
        for t in range(settings["n_burnin"] + settings["n_draws"]):
            optimizer.zero_grad()
            loss = loss_fn(model)
            loss.backward()
            if t >= settings["n_burnin"]:
                draws.append(loss.item())
            optimizer.step(noise_generator=generator)
        per_chain.append(settings["nbeta"] * (np.mean(draws) - init_loss))
    seconds = time.perf_counter() - start
    per_chain = np.array(per_chain)
    return {"seconds": seconds, "llc_mean": float(per_chain.mean()),
            "llc_std": float(per_chain.std(ddof=1)), "per_chain": per_chain}


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--directions", type=int, default=1000)
    parser.add_argument("--eval-samples", type=int, default=1024)
    parser.add_argument("--sparsity", type=float, default=0.9)
    parser.add_argument("--train-steps", type=int, default=5000)
    parser.add_argument("--chains", type=int, default=4)
    parser.add_argument("--draws", type=int, default=1000)
    parser.add_argument("--burnin", type=int, default=200)
    parser.add_argument("--threads", type=int, default=2, help="torch threads")
    args = parser.parse_args(argv)
    import numba

    from percolation_tms.basins.llc import default_nbeta

    run = train_instance(args.train_steps, args.sparsity)
    volume = bench_volume(run, args.directions, args.eval_samples)
    cost = volume.pop("cost")
    nbeta = default_nbeta(cost.n_samples)
    h_max = float(np.linalg.eigvalsh(cost.gauss_newton()).max())
    settings = {"n_chains": args.chains, "n_draws": args.draws, "n_burnin": args.burnin,
                    "step_size": 0.1 / (nbeta * h_max + 1.0), "localization": 1.0, "nbeta": nbeta}
    ours = bench_llc_ours(cost, settings)
    theirs = bench_llc_devinterp(cost, settings, args.threads)

    print(f"instance: tied, n = 20, m = 5, S = {args.sparsity}, D = {volume['D']}, evaluation "
          f"set {args.eval_samples}, numba threads {numba.get_num_threads()}")
    print("\n| volume estimator | value |\n|---|---|")
    print(f"| {args.directions} directions | {volume['seconds']:.2f} s "
          f"({volume['directions_per_s']:.0f} directions/s) |")
    print(f"| cost evaluations | {volume['evaluations']} "
          f"({volume['evaluations'] / args.directions:.1f} per ray), "
          f"{volume['seconds_per_evaluation'] * 1e6:.1f} us each in batches of 1000 |")
    print(f"| ln P (Gaussian) | {volume['log_prob']:.2f} [{volume['interval'][0]:.2f}, "
          f"{volume['interval'][1]:.2f}], ESS {volume['ess']:.1f} |")
    print(f"| ln Vol | {volume['log_volume']:.2f} |")
    print(f"| peak RSS | {peak_mb():.0f} MB |")
    print(f"\nLLC: {args.chains} chains x {args.draws} draws after {args.burnin} burn-in, "
          f"full batch, step {settings['step_size']:.3g}, n beta {nbeta:.1f}, gamma 1")
    print("\n| LLC | time | estimate (mean +- sd over chains) |\n|---|---|---|")
    print(f"| percolation-tms (numba) | {ours['seconds']:.2f} s | "
          f"{ours['llc_mean']:.3f} +- {ours['llc_std']:.3f} |")
    if theirs is not None:
        print(f"| devinterp SGMCMC.sgld (torch, {args.threads} threads) | "
              f"{theirs['seconds']:.2f} s | {theirs['llc_mean']:.3f} +- "
              f"{theirs['llc_std']:.3f} |")
        diff = abs(ours["llc_mean"] - theirs["llc_mean"])
        error = math.hypot(ours["llc_std"], theirs["llc_std"]) / math.sqrt(args.chains)
        print(f"\nspeed-up {theirs['seconds'] / ours['seconds']:.1f}x; difference of the "
              f"means {diff:.3f} = {diff / error:.1f} standard errors")
    return 0


if __name__ == "__main__":
    sys.exit(main())
