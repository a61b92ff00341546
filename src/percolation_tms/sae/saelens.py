"""Reading and writing SAEs in SAELens' folder format (SPEC-sae-hierarchy section 4), without
torch: ``cfg.json`` plus ``sae_weights.safetensors`` (``W_enc`` (d_in, d_sae), ``b_enc``,
``W_dec`` (d_sae, d_in), ``b_dec``, and ``threshold`` for ``jumprelu``), read with the
``safetensors`` package's numpy loader.

SAELens 6.54 encodes (saes/sae.py, standard_sae.py, topk_sae.py, jumprelu_sae.py)::

    x'  = x - b_dec * apply_b_dec_to_input
    z   = x' @ W_enc + b_enc
    standard: a = ReLU(z);   jumprelu: a = ReLU(z) [z > threshold];
    topk: z_j *= |W_dec_j| if rescale_acts_by_decoder_norm; a = ReLU(TopK_k(z))

The project's model has unit atoms and encodes z' = W_enc' (x - b_dec) + b_enc', so the map
folds the decoder norms n_j = |W_dec_j| in: W_enc'_j = n_j W_enc[:, j], b_enc'_j = n_j (b_enc_j
+ (W_enc^T b_dec)_j if not apply_b_dec_to_input), threshold'_j = n_j max(threshold_j, 0), atoms
W_dec_j / n_j.  Reconstructions are unchanged; the project's activation is n_j a_j, which is
SAELens' own activation whenever the decoder rows have unit norm (as SAELens saves standard
SAEs after folding) and always for TopK with rescaling.  TopK without rescaling is exact only
with unit rows (else refused).  An optional ``percolation_tms.json`` beside the weights records
the standardisation of the inputs (mean, scale); without it, mean 0 and scale 1.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np

from percolation_tms import io
from percolation_tms.sae._kernels import Parameters
from percolation_tms.sae.train import SparseAutoencoder

CONFIG_FILE = "cfg.json"
WEIGHTS_FILE = "sae_weights.safetensors"
SIDECAR_FILE = "percolation_tms.json"  # the standardisation of the inputs, when known
ARCHITECTURES = ("standard", "topk", "jumprelu")
# cfg.json keys whose non-default values change what encode computes.
_MUST_BE = {"normalize_activations": ("none", None), "reshape_activations": ("none", None),
            "hook_head_index": (None,), "apply_finetuning_scaling_factor": (False, None)}
UNIT_TOLERANCE = 1e-6


class SAELensFormatError(ValueError):
    """A SAELens folder this reader cannot represent exactly (a ValueError: exit status 2)."""


def _architecture(cfg: dict) -> str:
    arch = cfg.get("architecture")
    if arch is None and isinstance(cfg.get("activation_fn"), str):  # pre-6 configs
        arch = {"relu": "standard", "topk": "topk"}.get(cfg["activation_fn"])
    if arch not in ARCHITECTURES:
        raise SAELensFormatError(f"SAELens architecture {arch!r} is not supported (supported: "
                                 f"{', '.join(ARCHITECTURES)}; batchtopk and matryoshka SAEs "
                                 "are saved by SAELens as jumprelu)")
    return arch


def read_saelens(folder: str | os.PathLike) -> SparseAutoencoder:
    """The SAE of a SAELens folder as the project's ``SparseAutoencoder`` (float64).

    Parameters
    ----------
    folder : a folder holding ``cfg.json`` and ``sae_weights.safetensors``.

    Returns
    -------
    SparseAutoencoder
        ``encode(sae, X)`` gives SAELens' encodings of X (see the module docstring).

    Raises
    ------
    SAELensFormatError
        Unsupported architecture or setting, missing or misshapen tensors, bfloat16 weights.
    io.InputFileError
        Missing or unreadable files.
    """
    from safetensors.numpy import load_file

    folder = Path(folder)
    cfg_path, weights_path = folder / CONFIG_FILE, folder / WEIGHTS_FILE
    for path in (cfg_path, weights_path):
        if not path.is_file():
            raise io.InputFileError(f"SAELens folder {str(folder)!r} lacks {path.name}")
    try:
        cfg = json.loads(cfg_path.read_text())
    except (OSError, ValueError) as exc:
        raise io.InputFileError(f"{str(cfg_path)!r} is unreadable ({exc})") from exc
    arch = _architecture(cfg)
    for key, allowed in _MUST_BE.items():
        if key in cfg and cfg[key] not in allowed:
            raise SAELensFormatError(f"cfg.json sets {key} = {cfg[key]!r}; only "
                                     f"{allowed[0]!r} is supported")
    try:
        tensors = load_file(str(weights_path))
    except Exception as exc:  # safetensors raises its own errors, e.g. for bfloat16
        raise SAELensFormatError(f"cannot read {str(weights_path)!r} with the numpy loader "
                                 f"({exc}); bfloat16 weights have no numpy type: save them "
                                 "as float32") from exc
    needed = ["W_enc", "b_enc", "W_dec", "b_dec"] + (["threshold"] if arch == "jumprelu"
                                                     else [])
    missing = [name for name in needed if name not in tensors]
    if missing:
        raise SAELensFormatError(f"{str(weights_path)!r} lacks {missing}")
    W_enc, b_enc, W_dec, b_dec = (np.asarray(tensors[k], dtype=np.float64)
                                  for k in ("W_enc", "b_enc", "W_dec", "b_dec"))
    d_in, d_sae = W_enc.shape if W_enc.ndim == 2 else (-1, -1)
    if (W_enc.ndim != 2 or W_dec.shape != (d_sae, d_in) or b_enc.shape != (d_sae,)
            or b_dec.shape != (d_in,)):
        raise SAELensFormatError(f"inconsistent shapes: W_enc {W_enc.shape}, W_dec "
                                 f"{W_dec.shape}, b_enc {b_enc.shape}, b_dec {b_dec.shape}")
    for key, value in (("d_in", d_in), ("d_sae", d_sae)):
        if key in cfg and cfg[key] != value:
            raise SAELensFormatError(f"cfg.json says {key} = {cfg[key]}, the weights {value}")
    norms = np.linalg.norm(W_dec, axis=1)
    if not np.all(norms > 0):
        raise SAELensFormatError("W_dec has a zero row: that latent has no direction")
    rescale = bool(cfg.get("rescale_acts_by_decoder_norm", False))
    if arch == "topk" and not rescale and np.abs(norms - 1).max() > UNIT_TOLERANCE:
        raise SAELensFormatError("a topk SAE without rescale_acts_by_decoder_norm selects on "
                                 "unscaled pre-activations: exact only with unit-norm "
                                 f"decoder rows (largest deviation {np.abs(norms - 1).max():.2g})")
    if not cfg.get("apply_b_dec_to_input", True):
        b_enc = b_enc + b_dec @ W_enc
    if arch == "topk" and not rescale:
        norms = np.ones(d_sae)  # unit rows (checked): nothing to fold
    enc = np.ascontiguousarray((W_enc * norms).T)
    b_enc = np.ascontiguousarray(b_enc * norms)
    atoms = np.ascontiguousarray(W_dec / norms[:, None])
    threshold = None
    if arch == "jumprelu":
        threshold = np.maximum(np.asarray(tensors["threshold"], dtype=np.float64), 0.0) * norms
        if threshold.shape != (d_sae,):
            raise SAELensFormatError(f"threshold has shape {threshold.shape}, expected "
                                     f"({d_sae},)")
    k = 0
    if arch == "topk":
        k = cfg.get("k")
        if isinstance(k, bool) or not isinstance(k, int) or not 1 <= k <= d_sae:
            raise SAELensFormatError(f"cfg.json k must be an integer in 1..{d_sae}, got {k!r}")
    mean, scale = np.zeros(d_in), 1.0
    sidecar = folder / SIDECAR_FILE
    if sidecar.is_file():
        try:
            info = json.loads(sidecar.read_text())
            mean = np.asarray(info["input_mean"], dtype=np.float64)
            scale = float(info["input_scale"])
        except (OSError, ValueError, KeyError, TypeError) as exc:
            raise io.InputFileError(f"{str(sidecar)!r} is unreadable ({exc})") from exc
        if mean.shape != (d_in,) or not scale > 0:
            raise SAELensFormatError(f"{str(sidecar)!r}: input_mean must have {d_in} values "
                                     "and input_scale be positive")
    kind = {"standard": "relu", "topk": "topk", "jumprelu": "jumprelu"}[arch]
    return SparseAutoencoder(Parameters(enc, b_enc, atoms, np.ascontiguousarray(b_dec)), mean,
                             scale, k, 0.0, kind, threshold)


def write_saelens(sae: SparseAutoencoder, folder: str | os.PathLike,
                  dtype: str = "float32") -> list[Path]:
    """Write ``sae`` as a SAELens folder (``relu`` as standard, ``topk`` as topk, the threshold
    kinds as jumprelu), plus ``percolation_tms.json`` with its input standardisation (SAELens
    itself expects inputs already standardised).  Returns the paths written."""
    from safetensors.numpy import save

    if dtype not in ("float32", "float64"):
        raise ValueError(f"dtype must be 'float32' or 'float64', got {dtype!r}")
    arch = {"relu": "standard", "topk": "topk"}.get(sae.kind, "jumprelu")
    tensors = {"W_enc": sae.W_enc.T, "b_enc": sae.params.b_enc, "W_dec": sae.params.atoms,
               "b_dec": sae.params.b_dec}
    if arch == "jumprelu":
        tensors["threshold"] = sae.threshold
    tensors = {k: np.ascontiguousarray(v, dtype=dtype) for k, v in tensors.items()}
    cfg = {"architecture": arch, "d_in": sae.dim, "d_sae": sae.n_latents, "dtype": dtype,
           "device": "cpu", "apply_b_dec_to_input": True, "normalize_activations": "none",
           "reshape_activations": "none", "metadata": {"trained_by": "percolation-tms",
                                                       "kind": sae.kind}}
    if arch == "topk":
        cfg.update(k=int(sae.top_k), rescale_acts_by_decoder_norm=True)
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    weights = folder / WEIGHTS_FILE
    with io.atomic_open(weights, "wb") as handle:
        handle.write(save(tensors))
    io.write_json(folder / CONFIG_FILE, cfg)
    io.write_json(folder / SIDECAR_FILE, {"input_mean": sae.input_mean.tolist(),
                                          "input_scale": float(sae.input_scale)})
    return [weights, folder / CONFIG_FILE, folder / SIDECAR_FILE]
