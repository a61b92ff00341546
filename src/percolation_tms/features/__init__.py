"""Feature stage: ground-truth latent features and per-point metadata (spec section 5)."""

from percolation_tms.features.extract import (
    PointMetadata,
    ground_truth_features,
    point_metadata,
    resolve_n_features,
)

__all__ = ["PointMetadata", "ground_truth_features", "point_metadata", "resolve_n_features"]
