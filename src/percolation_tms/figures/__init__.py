"""Paper figures, drawn from the files the stages wrote (never recomputing their results).

One function ``plot_<name>(data, out_path)`` per figure writes a PNG and a PDF beside it;
``inputs`` reads the files a figure needs into ``data``; ``style`` holds the shared look;
``prepare`` the light preparation (log bins, the exponent fit, means over seeds).  The plot
functions are attributes of this package too (``figures.plot_cluster_sizes``), imported on first
use so that the command line does not load matplotlib for other commands.
"""

from percolation_tms.figures.registry import FIGURES


def __getattr__(name: str):
    figure = name.removeprefix("plot_")
    if name.startswith("plot_") and figure in FIGURES:
        return FIGURES[figure].plot_function()
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted([*globals(), *(f"plot_{figure}" for figure in FIGURES)])
