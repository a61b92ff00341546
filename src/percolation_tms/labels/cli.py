"""``label`` (stage 3): latent values and the regression labels y."""

from __future__ import annotations

from percolation_tms import settings
from percolation_tms.dataset.config import DatasetConfig


def register(subparsers) -> None:
    p = subparsers.add_parser("label", help="stage 3: latent values and labels y")
    p.add_argument("--graph", required=True, metavar="GRAPH.npz")
    settings.add_arguments(p, DatasetConfig, only=DatasetConfig.VALUE_FIELDS)
    p.add_argument("--out", required=True, metavar="VALUES.npz")
    p.set_defaults(func=_label)


def _label(args) -> None:
    from percolation_tms import _progress
    from percolation_tms.labels import draw_labels, save_values
    from percolation_tms.percolation import load_graph

    graph = load_graph(args.graph)
    with _progress.stage(f"labels of {graph.n_points:,} points"):
        values = draw_labels(graph, getattr(args, "value_seed", None))
    save_values(args.out, values)
