"""Label stage: latent values z and regression labels y (spec section 4)."""

from percolation_tms._lazy import lazy_exports

__all__ = ["Values", "draw_labels", "load_values", "save_values"]

# Imported from their submodules on first use (percolation_tms._lazy).
__getattr__, __dir__ = lazy_exports(__name__, {
    "values": ("Values", "draw_labels", "load_values", "save_values"),
})
