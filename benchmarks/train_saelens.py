"""Train a SAELens 6.54 SAE on the points of a project dataset and save it as a SAELens
folder that ``percolation-tms score-sae --saelens`` scores (optional: needs torch and
sae-lens, never dependencies of the package).

The points are standardised as the project does (centre, one global scale to mean |x|^2 = d);
the mean and scale go to ``percolation_tms.json`` beside the weights, so the folder encodes
raw points.  Minibatches follow the project's epoch order (stream (seed, DOMAIN_SAE_BATCH,
epoch, 0)).

    PYTHONPATH=src python benchmarks/train_saelens.py --dataset DIR/<stem>.npz \\
        --architecture topk --k 8 --d-sae 800 --epochs 2 --out results/saelens/topk
    percolation-tms score-sae --saelens results/saelens/topk --dataset DIR/<stem>.npz \\
        --min-feature-points 64 --out results/saelens/topk/scores
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dataset", required=True)
    parser.add_argument("--architecture", choices=("topk", "batchtopk", "standard",
                                                   "jumprelu", "matryoshka"), default="topk")
    parser.add_argument("--k", type=int, default=8)
    parser.add_argument("--d-sae", type=int, default=800)
    parser.add_argument("--epochs", type=int, default=2)
    parser.add_argument("--batch-size", type=int, default=256)
    parser.add_argument("--lr", type=float, default=1e-3)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--out", required=True)
    args = parser.parse_args()

    import sae_lens
    import torch
    from sae_lens import SAETrainer
    from sae_lens.config import LoggingConfig, SAETrainerConfig

    from percolation_tms._rng import DOMAIN_SAE_BATCH
    from percolation_tms.dataset import load_dataset
    from percolation_tms.sae import _kernels
    from percolation_tms.sae.train import standardization

    torch.set_num_threads(args.threads)
    torch.manual_seed(args.seed)
    X = load_dataset(args.dataset).X.astype(np.float64)
    mean, scale = standardization(X)
    x = torch.from_numpy(((X - mean) / scale).astype(np.float32))
    d = X.shape[1]
    common = {"d_in": d, "d_sae": args.d_sae, "dtype": "float32", "device": "cpu"}
    if args.architecture == "topk":
        sae = sae_lens.TopKTrainingSAE(sae_lens.TopKTrainingSAEConfig(k=args.k, **common))
    elif args.architecture == "batchtopk":
        sae = sae_lens.BatchTopKTrainingSAE(sae_lens.BatchTopKTrainingSAEConfig(
            k=args.k, **common))
    elif args.architecture == "matryoshka":
        widths = [args.d_sae // 8, args.d_sae // 2, args.d_sae]
        sae = sae_lens.MatryoshkaBatchTopKTrainingSAE(
            sae_lens.MatryoshkaBatchTopKTrainingSAEConfig(k=args.k, matryoshka_widths=widths,
                                                          **common))
    elif args.architecture == "jumprelu":
        sae = sae_lens.JumpReLUTrainingSAE(sae_lens.JumpReLUTrainingSAEConfig(**common))
    else:
        sae = sae_lens.StandardTrainingSAE(sae_lens.StandardTrainingSAEConfig(**common))

    def batches():
        for epoch in range(args.epochs):
            order = torch.from_numpy(_kernels.shuffled_order(X.shape[0], args.seed,
                                                             DOMAIN_SAE_BATCH, epoch))
            for start in range(0, X.shape[0], args.batch_size):
                yield x[order[start:start + args.batch_size]]

    trainer = SAETrainer(SAETrainerConfig(
        total_training_samples=args.epochs * X.shape[0],
        train_batch_size_samples=args.batch_size, lr=args.lr, lr_end=args.lr, device="cpu",
        logger=LoggingConfig(log_to_wandb=False)), sae, batches(), evaluator=None)
    trained = trainer.fit()
    out = Path(args.out)
    trained.save_inference_model(out)
    (out / "percolation_tms.json").write_text(json.dumps(
        {"input_mean": mean.tolist(), "input_scale": float(scale)}))
    print(f"wrote {out} (SAELens {sae_lens.__version__}, {args.architecture})")


if __name__ == "__main__":
    main()
