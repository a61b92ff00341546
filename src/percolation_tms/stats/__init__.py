"""Statistics stage: describe a dataset (spec section 8), aggregate over seeds."""
