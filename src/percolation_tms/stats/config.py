"""``DescribeConfig``: the settings of ``describe`` (its defaults are the spec's)."""

from __future__ import annotations

from dataclasses import dataclass

from percolation_tms.settings import check_positive_int, setting


@dataclass(frozen=True)
class DescribeConfig:
    """knn_k : neighbours of the k-NN baseline; knn_min_cluster : the baseline is scored on
    the points of clusters of at least this many points (spec section 8: 5-NN on clusters
    >= 1000 points; every point when no cluster is that large)."""

    knn_k: int = setting(5, "neighbours of the k-NN baseline")
    knn_min_cluster: int = setting(1000, "k-NN baseline on the points of clusters at least "
                                         "this large")

    def __post_init__(self):
        check_positive_int(self, "knn_k", "knn_min_cluster")
