"""Time SAE training of every project architecture against SAELens 6.54 on the same data.

Data: a generated percolation dataset, by default 100k points, d = 100, 800 latents, batch
256, 2 epochs.  For each kind the project trains (float64, numba threads) and, when sae_lens is
importable and ``--no-saelens`` is not given, SAELens trains the same kind (optional: torch and
sae-lens are never dependencies of the package and are imported only here):

    relu -> StandardTrainingSAE        topk -> TopKTrainingSAE
    batchtopk -> BatchTopKTrainingSAE  jumprelu -> JumpReLUTrainingSAE
    matryoshka -> MatryoshkaBatchTopKTrainingSAE

SAELens gets the same standardised X (as float32) in the same order of points (the project's
``_kernels.shuffled_order`` per epoch), a constant learning rate (lr_end = lr), the project's
batch size, Adam betas, sparsity setting, AuxK coefficient, dead-latent window, BatchTopK
threshold rate, Matryoshka level widths and JumpReLU penalty, bandwidth and initial threshold,
wherever SAELens has the setting; the settings it cannot match are printed per kind.

Prints, per project kind, seconds per epoch (wall and CPU, and CPU / threads: on a shared
machine wall time measures the contention) and the training L0; the numpy/BLAS baseline of the
ReLU step; per SAE, the project's scoring (FVU, L0, dead fraction, mean best Pearson
correlation by size band; MCC needs known directions, so it is undefined on percolation
data), SAELens' SAEs read back with ``percolation_tms.sae.read_saelens`` from their saved
inference folders (BatchTopK and Matryoshka are saved as jumprelu with thresholds); then one
markdown table, a row per kind, to paste into a note; and the peak memory.

SAELens trains in a child process with OMP_WAIT_POLICY=passive (torch needs it here) while the
project's kernels run in this one with OpenMP's default policy (``run_saelens``).

The two sides alternate, kind by kind, for ``--rounds`` rounds (project topk, SAELens topk,
project batchtopk, ...): the speed of a shared virtual machine drifts by up to 1.5x over
minutes, so the ratio of a kind is taken from runs a few seconds apart. The table gives each
side's fastest round and their ratio; every round's ratio is printed too.

    PYTHONPATH=src python benchmarks/bench_sae.py [--size 100000]
        [--dim 100] [--ratio 8] [--epochs 2] [--kinds relu,topk,batchtopk,jumprelu,matryoshka]
        [--l1 5.0] [--l0-coefficient 0.1] [--k 8] [--settings jumprelu.sparsity=step,...]
        [--decoder-init-norm 0.1] [--no-saelens] [--torch-threads 2] [--rounds 2]
        [--cache /tmp/bench_X.npz]

A small check: ``--size 5000 --epochs 1``.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time

import numba
import numpy as np


def numpy_step(params, moments, x, l1, lr, step, beta1=0.9, beta2=0.999, eps=1e-8):
    """The ReLU SAE's Adam step with dense numpy products (the baseline)."""
    enc, b_enc, atoms, b_dec = params
    n = x.shape[0]
    xc = x - b_dec
    pre = xc @ enc.T + b_enc
    f = np.maximum(pre, 0.0)
    err = f @ atoms + b_dec - x
    grad_pre = np.where(pre > 0, 2.0 * err @ atoms.T + l1, 0.0)
    grad_b_enc = grad_pre.sum(axis=0) / n
    grads = [grad_pre.T @ xc / n, grad_b_enc, 2.0 * f.T @ err / n,
             2.0 * err.sum(axis=0) / n - enc.T @ grad_b_enc]
    grads[2] -= (grads[2] * atoms).sum(axis=1, keepdims=True) * atoms
    for p, g, m, v in zip(params, grads, *moments):
        m *= beta1
        m += (1 - beta1) * g
        v *= beta2
        v += (1 - beta2) * g * g
        p -= lr / (1 - beta1 ** step) * m / (np.sqrt(v / (1 - beta2 ** step)) + eps)
    atoms /= np.linalg.norm(atoms, axis=1, keepdims=True)


# ---------------------------------------------------------------------------- settings
def parse_value(text: str):
    """A --settings value: true/false, an int, a float, a tuple of numbers (a:b:c), or text."""
    if text.lower() in ("true", "false"):
        return text.lower() == "true"
    if ":" in text:  # width_fractions=0.125:0.5:1
        return tuple(float(part) for part in text.split(":"))
    for cast in (int, float):
        try:
            return cast(text)
        except ValueError:
            pass
    return text


def kind_settings(args) -> dict[str, dict]:
    """The SAEConfig keywords of every kind: the sparsity options, then ``--settings``
    (``kind.name=value``, comma-separated) on top."""
    settings = {"relu": {"l1": args.l1}, "topk": {"k": args.k}, "batchtopk": {"k": args.k},
                "matryoshka": {"k": args.k}, "jumprelu": {"l0_coefficient": args.l0_coefficient}}
    for item in filter(None, (args.settings or "").split(",")):
        name, _, value = item.partition("=")
        kind, _, field = name.partition(".")
        if kind not in settings or not field or not value:
            raise SystemExit(f"--settings item {item!r}: expected kind.name=value with kind "
                             f"one of {', '.join(settings)}")
        settings[kind][field] = parse_value(value)
    return settings


# ---------------------------------------------------------------------------- data, scoring
def load_data(args):
    from percolation_tms.dataset import generate

    if args.cache and os.path.exists(args.cache):
        z = np.load(args.cache, allow_pickle=False)
        from scipy import sparse
        features = sparse.csc_matrix((z["data"], z["indices"], z["indptr"]), shape=z["shape"])
        return z["X"], features, z["depth"]
    data = generate("distribution", args.size, args.dim, seed=0)
    features = data.features.tocsc()
    depth = data.graph.depth[args.size:]
    if args.cache:
        np.savez(args.cache, X=data.X, data=features.data, indices=features.indices,
                 indptr=features.indptr, shape=np.array(features.shape), depth=depth)
    return data.X, features, depth


def score(sae, X, features, label):
    """The project's scoring of one SAE: prints a detail line, returns FVU, L0, dead."""
    from percolation_tms.sae import encode, score_features, summarize

    encoding = encode(sae, X)
    match = score_features(encoding.activations, features)
    bands = summarize(match, features, "depth")
    bands = bands[bands["size_band"] != "all"].groupby("size_low").apply(
        lambda t: np.average(t["mean_pearson"], weights=t["n_features"]), include_groups=False)
    dead = 1.0 - np.unique(encoding.activations.indices).size / sae.n_latents
    text = ", ".join(f"{low}+: {value:.3f}" for low, value in bands.items() if low >= 16)
    print(f"  {label:22s} FVU {encoding.fvu:.4f}  L0 {encoding.mean_l0:.2f}  dead "
          f"{dead:.3f}  mean best Pearson {np.nanmean(match.pearson):.4f}  by size band "
          f"(points) {text}")
    return {"fvu": encoding.fvu, "l0": encoding.mean_l0, "dead": dead}


# ---------------------------------------------------------------------------- the project
def train_project(X, kind, settings, args, threads):
    """Train one kind with the project's kernels; returns (config, result, CPU s)."""
    from percolation_tms.sae import SAEConfig, train_sae

    config = SAEConfig(kind=kind, dict_ratio=args.ratio, epochs=args.epochs, **settings[kind])
    cpu_start = time.process_time()
    result = train_sae(X, config)
    cpu = time.process_time() - cpu_start
    print(f"project {kind:10s} ({config.sparsity_label()}): wall s/epoch "
          f"{', '.join(f'{t:.2f}' for t in result.epoch_seconds)}; CPU s/epoch "
          f"{cpu / args.epochs:.2f} (/ {threads} threads: {cpu / args.epochs / threads:.2f}"
          f"); L0 per epoch {', '.join(f'{v:.1f}' for v in result.epoch_l0)}", flush=True)
    return config, result, cpu


def numpy_baseline(X, m, l1, relu_first_epoch, steps):
    """Time the dense numpy ReLU step on the first batches, scaled to an epoch."""
    from percolation_tms.sae.train import initial_parameters, standardization

    mean, scale = standardization(X)
    xs = (X - mean) / scale
    steps = min(steps, X.shape[0] // 256 - 1)
    params = list(initial_parameters(m, X.shape[1], 0, xs.mean(axis=0), 2.0 * X.shape[1] / m))
    moments = ([np.zeros_like(p) for p in params], [np.zeros_like(p) for p in params])
    numpy_step(params, moments, xs[:256], l1, 1e-3, 1)  # warm-up (BLAS threads)
    start = time.perf_counter()
    for step in range(steps):
        numpy_step(params, moments, xs[step * 256:(step + 1) * 256], l1, 1e-3, step + 2)
    numpy_epoch = (time.perf_counter() - start) / steps * np.ceil(X.shape[0] / 256)
    print(f"numpy/BLAS baseline (ReLU, first-epoch steps, scaled to an epoch): "
          f"{numpy_epoch:.2f} s per epoch; the kernels' first epoch is "
          f"{numpy_epoch / relu_first_epoch:.1f}x faster")


# ---------------------------------------------------------------------------- SAELens
# Differences that hold for every kind (SAETrainer and TrainingSAE hard-code them or the
# project has no such setting).
COMMON_NOTES = (
    "SAETrainer clips the gradient norm at 1 (hard-coded; the project does not clip)",
    ("SAELens' decoder rows are free (initialised here at norm {norm:g}, SAELens' default 0.1) "
     "and W_enc = W_dec^T; the project keeps unit atoms (renormalised after every step) with "
     "W_enc = W_dec^T (topk, batchtopk, matryoshka) or (2d/m) W_dec^T (relu, jumprelu)"),
    "SAELens runs float32 with its own random initialisation, the project float64",
)


def saelens_model(config, dim, m, decoder_init_norm):
    """The SAELens training SAE of the project's ``config``, and the settings SAELens cannot
    match (a list of notes)."""
    import sae_lens

    common = {"d_in": dim, "d_sae": m, "dtype": "float32", "device": "cpu",
              "decoder_init_norm": decoder_init_norm}
    notes = []
    kind = config.kind
    if kind == "relu":
        # SAELens' penalty is l1 * sum_j a_j |W_dec_j| (lp_norm 1): with the project's unit
        # atoms (a'_j = a_j |W_dec_j|) that is the project's l1 * sum_j a'_j, the same objective.
        notes.append("L1: SAELens penalises l1 sum_j a_j |W_dec_j| (free decoder norms), the "
                     "project l1 sum_j a_j with unit atoms: the same objective, reparametrised")
        return sae_lens.StandardTrainingSAE(sae_lens.StandardTrainingSAEConfig(
            l1_coefficient=config.l1, lp_norm=1.0, **common)), notes
    if config.aux_k is not None and config.aux_k != dim // 2:
        notes.append(f"AuxK k_aux: SAELens fixes d // 2 = {dim // 2}, the project uses "
                     f"{config.aux_k}")
    if kind == "jumprelu":
        if config.aux_alpha() > 0:
            notes.append(f"AuxK: the project's jumprelu adds AuxK (alpha {config.aux_alpha():g});"
                         " SAELens' JumpReLU has none (its pre_act_loss, off here, is another "
                         "loss)")
        notes.append("threshold and bandwidth: SAELens compares them with W_enc x + b_enc, "
                     "i.e. the project's pre-activation / |W_dec_j|: equal units only where "
                     f"SAELens' decoder rows have norm 1 (at init: {decoder_init_norm:g})")
        return sae_lens.JumpReLUTrainingSAE(sae_lens.JumpReLUTrainingSAEConfig(
            l0_coefficient=config.l0_coefficient, jumprelu_bandwidth=config.bandwidth,
            jumprelu_init_threshold=config.threshold_init,
            jumprelu_sparsity_loss_mode=config.sparsity, jumprelu_tanh_scale=config.tanh_scale,
            jumprelu_ste_to_input=config.ste_to_input, **common)), notes
    # The k kinds: SAELens selects on pre-activations times decoder norms (rescaling), which
    # is the project's selection on its unit-atom pre-activations.
    k_common = {"k": config.k, "aux_loss_coefficient": config.aux_alpha(),
                "rescale_acts_by_decoder_norm": True, **common}
    if kind == "topk":
        return sae_lens.TopKTrainingSAE(sae_lens.TopKTrainingSAEConfig(**k_common)), notes
    if kind == "batchtopk":
        return sae_lens.BatchTopKTrainingSAE(sae_lens.BatchTopKTrainingSAEConfig(
            topk_threshold_lr=config.threshold_lr, **k_common)), notes
    widths = list(config.level_ends(m))
    return sae_lens.MatryoshkaBatchTopKTrainingSAE(
        sae_lens.MatryoshkaBatchTopKTrainingSAEConfig(
            topk_threshold_lr=config.threshold_lr, matryoshka_widths=widths,
            use_matryoshka_aux_loss=config.matryoshka_aux, **k_common)), notes


def saelens_train(sae, xs32, config, args):
    """Fit ``sae`` with SAETrainer on xs32 (torch float32) in the project's epoch order;
    returns the trained SAE, wall s and CPU s."""
    import torch
    from sae_lens import SAETrainer
    from sae_lens.config import LoggingConfig, SAETrainerConfig

    from percolation_tms._rng import DOMAIN_SAE_BATCH
    from percolation_tms.sae import _kernels
    from percolation_tms.sae.config import DEAD_WINDOW

    n, batch = xs32.shape[0], min(config.batch_size, xs32.shape[0])

    def batches():
        for epoch in range(args.epochs):
            order = torch.from_numpy(_kernels.shuffled_order(n, config.seed, DOMAIN_SAE_BATCH,
                                                             epoch))
            for start in range(0, n, batch):
                yield xs32[order[start:start + batch]]

    # The project's dead-latent window (it drives AuxK): min(1000, steps per epoch).
    window = config.dead_window or min(DEAD_WINDOW, -(-n // batch))
    trainer = SAETrainer(SAETrainerConfig(
        total_training_samples=args.epochs * n, train_batch_size_samples=batch, lr=config.lr,
        lr_end=config.lr, adam_beta1=config.beta1, adam_beta2=config.beta2,
        dead_feature_window=window, device="cpu", logger=LoggingConfig(log_to_wandb=False)),
        sae, batches(), evaluator=None)
    start, cpu = time.perf_counter(), time.process_time()
    trained = trainer.fit()
    return trained, time.perf_counter() - start, time.process_time() - cpu


def save_trained(trained, folder, mean, scale):
    """Save a trained SAELens SAE as its inference folder, with the standardisation the
    project's reader needs; returns the architecture it was saved as."""
    trained.save_inference_model(folder)
    with open(os.path.join(folder, "percolation_tms.json"), "w") as handle:
        json.dump({"input_mean": mean.tolist(), "input_scale": float(scale)}, handle)
    with open(os.path.join(folder, "cfg.json")) as handle:
        return json.load(handle).get("architecture")


def read_back(folder, architecture):
    """The saved SAELens SAE as the project's SparseAutoencoder, or (None, why) when
    read_saelens refuses it."""
    from percolation_tms.sae import read_saelens

    try:
        return read_saelens(folder), None
    except ValueError as exc:  # SAELensFormatError, io.InputFileError
        return None, f"saved as {architecture!r}, not readable: {exc}"


def saelens_child(args, settings, out):
    """The SAELens side, run in its own process (see ``run_saelens``): train the kinds of
    ``--kinds``, save each SAE to out/<kind>/ and the timings and notes to out/runs.json;
    X is read from out/../X.npy."""
    import torch

    from percolation_tms.sae import SAEConfig
    from percolation_tms.sae.train import standardization

    torch.set_num_threads(args.torch_threads)
    X = np.load(os.path.join(os.path.dirname(out), "X.npy"))
    mean, scale = standardization(X)
    xs32 = torch.from_numpy(((X - mean) / scale).astype(np.float32))
    m = round(args.ratio * X.shape[1])
    runs = {}
    for kind in args.kinds.split(","):
        config = SAEConfig(kind=kind, dict_ratio=args.ratio, epochs=args.epochs,
                           **settings[kind])
        # A short untimed fit first, as the project's kernels are compiled before timing.
        torch.manual_seed(0)
        warm, _ = saelens_model(config, X.shape[1], m, args.decoder_init_norm)
        saelens_train(warm, xs32[:1024], config, argparse.Namespace(epochs=1))
        torch.manual_seed(0)
        sae, notes = saelens_model(config, X.shape[1], m, args.decoder_init_norm)
        trained, wall, cpu = saelens_train(sae, xs32, config, args)
        architecture = save_trained(trained, os.path.join(out, kind), mean, scale)
        runs[kind] = {"wall": wall, "cpu": cpu, "notes": notes, "architecture": architecture,
                      "class": type(sae).__name__}
        print(f"SAELens {kind:10s}: wall s/epoch {wall / args.epochs:.2f}; CPU s/epoch "
              f"{cpu / args.epochs:.2f} "
              f"({type(sae).__name__}, saved as {architecture!r})", flush=True)
    with open(os.path.join(out, "runs.json"), "w") as handle:
        json.dump(runs, handle)


def run_saelens(argv, kind, out):
    """Train SAELens on one kind in a child process with OMP_WAIT_POLICY=passive and read its
    SAE back (X already saved to out/../X.npy).

    torch's OpenMP threads need the passive wait policy on a small machine (without it one
    SAELens run here took 227 s instead of 6 s), but the policy also slows every parallel
    region of the project's numba kernels (their threads then sleep between the several
    parallel loops of a step): each side runs with its own best setting, in its own
    process."""
    os.makedirs(out)
    env = dict(os.environ, OMP_WAIT_POLICY="passive", TQDM_DISABLE="1")
    subprocess.run([sys.executable, os.path.abspath(__file__), *argv, "--kinds", kind,
                    "--saelens-child", out], env=env, check=True)
    with open(os.path.join(out, "runs.json")) as handle:
        run = json.load(handle)[kind]
    run["sae"], run["why_not"] = read_back(os.path.join(out, kind), run["architecture"])
    return run


# ---------------------------------------------------------------------------- the table
def fmt(value, spec):
    return "–" if value is None else format(value, spec)


def markdown_table(rows):
    """rows: dicts with kind, the two timings and the two scorings (None where absent)."""
    head = ("| kind | project wall s/epoch | project CPU s/epoch | SAELens wall s/epoch | "
            "SAELens CPU s/epoch | wall ratio (SAELens / project) | CPU ratio | project FVU "
            "| project L0 | project dead | SAELens FVU | SAELens L0 | SAELens dead |")
    lines = [head, "|" + "---|" * head.count(" | ") + "---|"]
    for r in rows:
        ours, theirs = r["ours"], r["theirs"] or {}
        ratio = r["lens_wall"] / r["wall"] if r["lens_wall"] is not None else None
        cpu_ratio = r["lens_cpu"] / r["cpu"] if r["lens_cpu"] is not None else None
        cells = [r["kind"], fmt(r["wall"], ".2f"), fmt(r["cpu"], ".2f"),
                 fmt(r["lens_wall"], ".2f"), fmt(r["lens_cpu"], ".2f"), fmt(ratio, ".2f"),
                 fmt(cpu_ratio, ".2f"), fmt(ours["fvu"], ".4f"), fmt(ours["l0"], ".2f"),
                 fmt(ours["dead"], ".3f"), fmt(theirs.get("fvu"), ".4f"),
                 fmt(theirs.get("l0"), ".2f"), fmt(theirs.get("dead"), ".3f")]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", type=int, default=100_000)
    parser.add_argument("--dim", type=int, default=100)
    parser.add_argument("--ratio", type=float, default=8.0)
    parser.add_argument("--epochs", type=int, default=2)
    parser.add_argument("--kinds", default="relu,topk,batchtopk,jumprelu,matryoshka")
    parser.add_argument("--l1", type=float, default=5.0,
                        help="relu L1 coefficient (5: L0 about 12 after 2 epochs, near the "
                             "k = 8 of the other kinds; at 1 a third of the dictionary fires)")
    parser.add_argument("--l0-coefficient", type=float, default=0.1,
                        help="jumprelu L0 penalty lambda")
    parser.add_argument("--k", type=int, default=8, help="topk, batchtopk, matryoshka k")
    parser.add_argument("--settings", default="",
                        help="more SAEConfig settings, kind.name=value[,...], e.g. "
                             "jumprelu.sparsity=step,batchtopk.aux_coefficient=0 (both the "
                             "project and SAELens get them where SAELens has the setting)")
    parser.add_argument("--decoder-init-norm", type=float, default=0.1,
                        help="SAELens decoder_init_norm (its default 0.1; 1 starts from unit "
                             "rows as the project's atoms)")
    parser.add_argument("--no-saelens", action="store_true")
    parser.add_argument("--torch-threads", type=int, default=2)
    parser.add_argument("--reference-steps", type=int, default=20)
    parser.add_argument("--rounds", type=int, default=2,
                        help="rounds of alternating project / SAELens runs per kind")
    parser.add_argument("--cache", default=None, help="npz to keep the generated data in")
    parser.add_argument("--saelens-child", metavar="DIR", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.rounds < 1:
        parser.error(f"--rounds must be >= 1, got {args.rounds}")
    settings = kind_settings(args)
    if args.saelens_child:
        saelens_child(args, settings, args.saelens_child)
        return
    if os.environ.get("OMP_WAIT_POLICY", "").lower() == "passive":
        print("note: OMP_WAIT_POLICY=passive slows the project's numba threads; the SAELens "
              "child sets it for torch by itself, so run this script without it")
    workdir = tempfile.TemporaryDirectory()

    from percolation_tms import _progress
    from percolation_tms.sae import SAEConfig, select_features, train_sae

    _progress.set_quiet(True)
    start = time.perf_counter()
    X, features_matrix, depth = load_data(args)
    print(f"dataset: {X.shape[0]:,} points, d = {X.shape[1]}, {features_matrix.shape[1]:,} "
          f"features ({time.perf_counter() - start:.1f} s to generate or load)")
    features = select_features(features_matrix, depth)
    kinds = args.kinds.split(",")
    for kind in kinds:  # compile (or load from the cache) every kernel first
        train_sae(X[:1000], SAEConfig(kind=kind, dict_ratio=args.ratio, epochs=1,
                                      **settings[kind]))
    threads = numba.get_num_threads()
    print(f"numba threads: {threads}, threading layer: {numba.threading_layer()}, "
          f"OMP_WAIT_POLICY={os.environ.get('OMP_WAIT_POLICY')}; load average "
          f"{os.getloadavg()[0]:.1f}")
    m = round(args.ratio * X.shape[1])
    print(f"dictionary m = {m}, batch 256, float64, {args.epochs} epochs")
    with_lens, why_not = False, "--no-saelens"
    if not args.no_saelens:
        try:
            import sae_lens
        except ImportError:
            why_not = "sae_lens not importable"
        else:
            with_lens = True
            np.save(os.path.join(workdir.name, "X.npy"), X)
            print(f"SAELens {sae_lens.__version__}, float32, torch threads "
                  f"{args.torch_threads}, constant lr (lr_end = lr), torch.manual_seed(0), "
                  "in a child process with OMP_WAIT_POLICY=passive")
    if not with_lens:
        print(f"SAELens comparison skipped ({why_not})")
    rounds = {kind: [] for kind in kinds}  # kind -> [(project run, SAELens run or None)]
    for r in range(args.rounds):
        print(f"round {r + 1} of {args.rounds}:", flush=True)
        for kind in kinds:
            ours = train_project(X, kind, settings, args, threads)
            theirs = (run_saelens(sys.argv[1:], kind, os.path.join(workdir.name, f"{r}_{kind}"))
                      if with_lens else None)
            rounds[kind].append((ours, theirs))
    if "relu" in rounds:
        config, result, _ = rounds["relu"][-1][0]
        numpy_baseline(X, m, config.l1, result.epoch_seconds[0], args.reference_steps)
    project = {kind: min((ours for ours, _ in runs), key=lambda run: run[1].seconds)
               for kind, runs in rounds.items()}
    lens_runs = {kind: min((theirs for _, theirs in runs), key=lambda run: run["wall"])
                 for kind, runs in rounds.items() if with_lens}
    if with_lens:
        print("wall ratio SAELens / project per round:")
        for kind, runs in rounds.items():
            print(f"  {kind:10s} " + ", ".join(f"{theirs['wall'] / ours[1].seconds:.2f}"
                                              for ours, theirs in runs))

    print("scored by the project's scoring (all features; bands of >= 16 points):")
    rows = []
    for kind, (config, result, cpu) in project.items():
        ours = score(result.sae, X, features, f"project {kind}")
        lens = lens_runs.get(kind)
        theirs = None
        if lens and lens["sae"] is not None:
            theirs = score(lens["sae"], X, features, f"SAELens {kind}")
        elif lens:
            print(f"  SAELens {kind}: scoring skipped ({lens['why_not']})")
        rows.append({"kind": f"{kind} ({config.sparsity_label()})",
                     "wall": result.seconds / args.epochs, "cpu": cpu / args.epochs,
                     "lens_wall": lens["wall"] / args.epochs if lens else None,
                     "lens_cpu": lens["cpu"] / args.epochs if lens else None,
                     "ours": ours, "theirs": theirs})
    print(f"\neach side's fastest of {args.rounds} round(s):")
    print(markdown_table(rows))
    print()
    if lens_runs:
        print("settings SAELens cannot match:")
        for note in COMMON_NOTES:
            print(f"- all kinds: {note.format(norm=args.decoder_init_norm)}")
        for kind, lens in lens_runs.items():
            for note in lens["notes"]:
                print(f"- {kind}: {note}")
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    child = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    print(f"peak memory, dataset included: this process (the project) {peak:.0f} MB"
          + (f", the SAELens process {child:.0f} MB" if lens_runs else ""))
    workdir.cleanup()


if __name__ == "__main__":
    main()
