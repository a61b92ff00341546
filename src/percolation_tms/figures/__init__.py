"""Paper figures, drawn from the files the stages wrote (never recomputing their results).

One function ``plot_<name>(data, out_path)`` per figure writes a PNG and a PDF beside it;
``inputs`` reads the files a figure needs into ``data``; ``style`` holds the shared look;
``prepare`` the light preparation (log bins, the exponent fit, means over seeds).
"""

from percolation_tms.figures.percolation import (  # noqa: F401  (the public plot functions)
    plot_baselines,
    plot_cluster_sizes,
    plot_degrees,
    plot_embedding,
    plot_feature_frequency,
    plot_hierarchy,
)
from percolation_tms.figures.toymodels import (  # noqa: F401
    plot_percolation_superposition,
    plot_tms_feature_dimensionality,
    plot_tms_loss,
    plot_tms_phase_diagram,
    plot_tms_represented,
    plot_tms_weights,
    plot_tms_wtw,
)
