"""Sparse autoencoders trained on a dataset's points and scored against its ground truth.

``config`` the frozen settings (``SAEConfig``: relu, topk, batchtopk, jumprelu, matryoshka;
``SweepConfig``); ``train`` training (Adam, AuxK) and encoding; ``score`` recovery of
ground-truth features (activation space) and MMCS; ``metrics`` MCC, latent F1 and absorption;
``synthetic`` flat and ``hierarchy`` hierarchical known-dictionary data; ``sweep`` sweeps and
their tables; ``saelens`` SAELens folders (read, write); ``outputs`` the files; ``cli`` the
``train-sae``, ``sae-synthetic`` and ``score-sae`` commands.  Kernels live in ``_kernels/``.
"""

from percolation_tms._lazy import lazy_exports

__all__ = [
    "Encoding",
    "FeatureSet",
    "KnownDictionaryData",
    "Recovery",
    "SAEConfig",
    "SAETrainResult",
    "SparseAutoencoder",
    "encode",
    "make_known_dictionary_data",
    "mean_max_cosine_similarity",
    "read_saelens",
    "score_features",
    "select_features",
    "summarize",
    "sweep_configs",
    "train_sae",
    "write_saelens",
]

# Imported from their submodules on first use (percolation_tms._lazy).
__getattr__, __dir__ = lazy_exports(__name__, {
    "config": ("SAEConfig", "sweep_configs"),
    "saelens": ("read_saelens", "write_saelens"),
    "score": ("FeatureSet", "Recovery", "mean_max_cosine_similarity", "score_features",
              "select_features", "summarize"),
    "synthetic": ("KnownDictionaryData", "make_known_dictionary_data"),
    "train": ("Encoding", "SAETrainResult", "SparseAutoencoder", "encode", "train_sae"),
})
