"""Label stage: latent values z and regression labels y (spec section 4)."""

from percolation_tms.labels.values import Values, draw_labels, load_values, save_values

__all__ = ["Values", "draw_labels", "load_values", "save_values"]
