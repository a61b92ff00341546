"""percolation_tms: percolation-cluster datasets, toy models of superposition and sparse
autoencoders scored against a known feature hierarchy.

Stages (one subpackage each): ``percolation`` (clusters, trees, latent hierarchy),
``embedding`` (branching random walk in R^d), ``labels``, ``features`` (ground-truth sparse
features), ``stats``, ``toymodels``, ``sae``, ``figures``.  ``io`` owns file names and atomic
writes; ``_rng`` owns the derivation of random streams from seeds.
"""

__version__ = "0.1.0"
