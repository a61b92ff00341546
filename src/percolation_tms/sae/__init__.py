"""Sparse autoencoders trained on a dataset's points and scored against its ground truth.

``config`` the frozen settings; ``train`` training (ReLU + L1 or TopK, Adam) and encoding;
``score`` recovery of ground-truth features (activation space) and mean max cosine similarity
(weight space); ``synthetic`` data with a known dictionary; ``sweep`` sweeps and their tables;
``cli`` the ``train-sae`` and ``sae-synthetic`` commands.  Kernels live in ``_kernels``.
"""

from percolation_tms.sae.config import SAEConfig, sweep_configs
from percolation_tms.sae.saelens import read_saelens, write_saelens
from percolation_tms.sae.score import (
    FeatureSet,
    Recovery,
    mean_max_cosine_similarity,
    score_features,
    select_features,
    summarize,
)
from percolation_tms.sae.synthetic import KnownDictionaryData, make_known_dictionary_data
from percolation_tms.sae.train import Encoding, SAETrainResult, SparseAutoencoder, encode, train_sae

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
