"""An independent, plain PyTorch implementation of the toy models (spec sections 1-4), to check
this package's trainer against and to time the baseline the issue's speed targets name.

Not part of the package and not run by the tests: it needs PyTorch, which the project does not
depend on (`pip install torch`, any CPU build).  Written from the specification alone, in the
style of Anthropic's toy-models notebook: float32, all instances in one tensor, autograd,
``torch.optim.AdamW`` with its defaults but weight decay 0.01, Xavier-normal W (and W_dec) with
std sqrt(2 / (n + m)) per instance, b = 0, fresh batch every step, loss per instance the mean
over batch and features of I_i (x_i - x'_i)^2, summed over instances.

  python benchmarks/pytorch_reference.py table --model tied --seeds 0-9
      the section 4 sweep (n = 20, m = 5, I_i = 0.7^i, 10,000 steps, batch 1024): held-out
      loss (200,000 fresh samples) and features represented, per sparsity and seed, and the
      range over seeds; --csv FILE also writes them as rows (model, sparsity, seed, loss,
      represented, last_batch_loss: the loss of the last training batch of 1024).  Variations, to test what the results depend on: --init notebook
      (torch.nn.init.xavier_normal_ on the whole (instances, n, m) tensor, as the notebook
      does: std sqrt(2 / (n m + instances m))), --sum-features (training loss summed over
      features), --float64, --weight-decay.
  python benchmarks/pytorch_reference.py time
      milliseconds per training step (data + forward + backward + AdamW, median of 200) for
      the two workloads of benchmarks/bench_toy.py ("sweep" and "n100"), at 1 and 2 threads.
"""

from __future__ import annotations

import argparse
import csv
import math
import sys
import time

import numpy as np

try:
    import torch
except ImportError:  # pragma: no cover - the script is useless without it
    sys.exit("pytorch_reference.py needs PyTorch: pip install torch")

SPARSITIES = (0.0, 0.7, 0.9, 0.99, 0.999)


def init_params(model, n_instances, n, m, init="xavier"):
    if init == "notebook":
        W = torch.nn.init.xavier_normal_(torch.empty(n_instances, n, m)).transpose(1, 2)
        params = {"W": W.contiguous(), "b": torch.zeros(n_instances, n)}
        if model == "untied":
            params["W_dec"] = torch.nn.init.xavier_normal_(torch.empty(n_instances, n, m))
    else:
        std = math.sqrt(2.0 / (n + m))
        params = {"W": torch.randn(n_instances, m, n) * std, "b": torch.zeros(n_instances, n)}
        if model == "untied":
            params["W_dec"] = torch.randn(n_instances, n, m) * std
    return {k: v.requires_grad_() for k, v in params.items()}


def forward(model, params, x):
    """x (batch, instances, n) -> x' of the same shape."""
    h = torch.einsum("bin,imn->bim", x, params["W"])
    if model == "tied":
        out = torch.einsum("bim,imn->bin", h, params["W"])
    else:
        out = torch.einsum("bim,inm->bin", h, params["W_dec"])
    return torch.relu(out + params["b"])


def draw(batch, probability):
    """probability (instances, n): present with that probability, then uniform in [0, 1)."""
    shape = (batch, *probability.shape)
    return torch.where(torch.rand(shape) < probability, torch.rand(shape), torch.zeros(()))


def instance_losses(x, out, importance, sum_features=False):
    error = importance * (x - out) ** 2
    return error.sum(dim=2).mean(dim=0) if sum_features else error.mean(dim=(0, 2))


def train(model, probability, importance, m, steps, batch, init="xavier", sum_features=False,
          weight_decay=0.01):
    params = init_params(model, probability.shape[0], probability.shape[1], m, init)
    optimiser = torch.optim.AdamW(list(params.values()), lr=1e-3, weight_decay=weight_decay)
    for _ in range(steps):
        x = draw(batch, probability)
        out = forward(model, params, x)
        loss = instance_losses(x, out, importance, sum_features).sum()
        optimiser.zero_grad(set_to_none=True)
        loss.backward()
        optimiser.step()
    # The last training batch's loss (mean over batch and features), before its update.
    last_batch = instance_losses(x, out.detach(), importance).double().numpy()
    return params, last_batch


@torch.no_grad()
def held_out_loss(model, params, probability, importance, samples=200_000, chunk=20_000):
    total = torch.zeros(probability.shape[0], dtype=torch.float64)
    for _ in range(samples // chunk):
        x = draw(chunk, probability)
        total += instance_losses(x, forward(model, params, x), importance).double()
    return (total / (samples // chunk)).numpy()


@torch.no_grad()
def represented(model, params):
    """||W_i|| > 0.5, or sqrt(||W_i|| ||W_dec,i||) > 0.5 for untied (spec section 3)."""
    norm = params["W"].norm(dim=1)
    if model == "untied":
        norm = torch.sqrt(norm * params["W_dec"].norm(dim=2))
    return (norm > 0.5).sum(dim=1).numpy()


def parse_seeds(text):
    if "-" in text:
        first, last = (int(part) for part in text.split("-"))
        return list(range(first, last + 1))
    return [int(part) for part in text.split(",")]


def table(args):
    torch.set_num_threads(args.threads)
    if args.float64:
        torch.set_default_dtype(torch.float64)
    n, m = 20, 5
    probability = torch.tensor([[1.0 - s] * n for s in SPARSITIES])
    importance = torch.tensor([0.7**i for i in range(n)])
    rows = []
    for seed in parse_seeds(args.seeds):
        torch.manual_seed(seed)
        start = time.perf_counter()
        params, last_batch = train(args.model, probability, importance, m, args.steps, 1024,
                                   args.init, args.sum_features, args.weight_decay)
        losses = held_out_loss(args.model, params, probability, importance)
        counts = represented(args.model, params)
        rows += [(args.model, s, seed, float(loss), int(count), float(last))
                 for s, loss, count, last in zip(SPARSITIES, losses, counts, last_batch)]
        print(f"seed {seed} ({time.perf_counter() - start:.0f} s): " + "  ".join(
            f"S={s}: {loss:.3g}/{count}" for s, loss, count in zip(SPARSITIES, losses, counts)),
            flush=True)
    print(f"\n{args.model}, {args.steps} steps, seeds {args.seeds}: loss range (median) / "
          "features represented")
    for s in SPARSITIES:
        losses = np.array([r[3] for r in rows if r[1] == s])
        counts = sorted(r[4] for r in rows if r[1] == s)
        print(f"S = {s:<5}  {losses.min():.3g} to {losses.max():.3g} ({np.median(losses):.3g})"
              f" / {counts}")
    if args.csv:
        with open(args.csv, "w", newline="") as handle:
            writer = csv.writer(handle)
            writer.writerow(["model", "sparsity", "seed", "loss", "represented",
                             "last_batch_loss"])
            writer.writerows(rows)


def time_workloads(args):
    workloads = {
        "sweep": (20, 5, np.array(SPARSITIES), 0.7 ** np.arange(20)),
        "n100": (100, 20, 1.0 - 20.0 ** -np.linspace(0, 1, 10),
                 100.0 ** -np.linspace(0, 1, 100)),
    }
    for threads in (1, 2):
        torch.set_num_threads(threads)
        for name, (n, m, sparsity, importance) in workloads.items():
            torch.manual_seed(0)
            probability = torch.tensor(np.repeat((1.0 - sparsity)[:, None], n, axis=1),
                                       dtype=torch.float32)
            importance = torch.tensor(importance, dtype=torch.float32)
            params = init_params("tied", len(sparsity), n, m)
            optimiser = torch.optim.AdamW(list(params.values()), lr=1e-3, weight_decay=0.01)
            times = []
            for step in range(args.warmup + args.steps):
                start = time.perf_counter()
                x = draw(1024, probability)
                loss = instance_losses(x, forward("tied", params, x), importance).sum()
                optimiser.zero_grad(set_to_none=True)
                loss.backward()
                optimiser.step()
                if step >= args.warmup:
                    times.append(time.perf_counter() - start)
            print(f"{name:6s} {threads} thread(s): {np.median(times) * 1e3:.2f} ms per step "
                  f"(median of {args.steps})")


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    commands = parser.add_subparsers(dest="command", required=True)
    run = commands.add_parser("table", help="train the section 4 sweep over seeds")
    run.add_argument("--model", choices=("tied", "untied"), default="tied")
    run.add_argument("--seeds", default="0-9", help="'0-9' or '0,3,7' (default 0-9)")
    run.add_argument("--steps", type=int, default=10_000)
    run.add_argument("--threads", type=int, default=1)
    run.add_argument("--init", choices=("xavier", "notebook"), default="xavier")
    run.add_argument("--sum-features", action="store_true")
    run.add_argument("--float64", action="store_true")
    run.add_argument("--weight-decay", type=float, default=0.01)
    run.add_argument("--csv", help="also write the per-seed rows to this CSV file")
    timing = commands.add_parser("time", help="time one training step of each workload")
    timing.add_argument("--steps", type=int, default=200)
    timing.add_argument("--warmup", type=int, default=50)
    args = parser.parse_args()
    if args.command == "table":
        table(args)
    else:
        time_workloads(args)


if __name__ == "__main__":
    main()
