"""The analytic phase diagram: closed forms against Monte Carlo, the argmin map, trained points
landing in the predicted phase."""

import numpy as np
import pytest

from percolation_tms.toymodels.config import PhaseDiagramConfig
from percolation_tms.toymodels.phase import (
    CANDIDATE_NAMES,
    candidate_losses,
    classify,
    phase_diagram,
)

CANDIDATE_WEIGHTS = {  # (W (1, 2), b (2,)) as functions of p
    "feature_1_only": lambda p: (np.array([[1.0, 0.0]]), np.array([0.0, p / 2])),
    "feature_2_only": lambda p: (np.array([[0.0, 1.0]]), np.array([p / 2, 0.0])),
    "superposition": lambda p: (np.array([[1.0, -1.0]]), np.zeros(2)),
}


@pytest.mark.parametrize("ratio, sparsity", [(0.3, 0.2), (2.0, 0.6), (1.0, 0.9)])
def test_closed_forms_match_monte_carlo(ratio, sparsity):
    rng = np.random.default_rng(11)
    p = 1 - sparsity
    X = rng.random((400_000, 2)) * (rng.random((400_000, 2)) < p)
    importance = np.array([1.0, ratio])
    closed = candidate_losses([ratio], [sparsity])[:, 0, 0]
    for c, name in enumerate(CANDIDATE_NAMES):
        W, b = CANDIDATE_WEIGHTS[name](p)
        out = np.maximum(X @ W.T @ W + b, 0.0)
        per_sample = (importance * (X - out) ** 2).mean(axis=1)  # mean over the 2 features
        error = per_sample.std() / np.sqrt(len(per_sample))
        assert abs(per_sample.mean() - closed[c]) < 5 * error + 1e-12, name


def test_phase_map_shape_and_boundaries():
    ratio = np.array([0.2, 1.0, 5.0])
    density = np.array([1.0, 0.6, 4 / 7 - 0.01, 0.1])
    phase = np.argmin(candidate_losses(ratio, 1 - density), axis=0)
    assert phase[0, 0] == 0 and phase[2, 0] == 1  # dense: keep the more important feature
    # equal importance: superposition exactly below density 4/7, where (2/12) p^2 falls
    # under (p/3 - p^2/4)/2
    assert phase[1].tolist()[1:] == [0, 2, 2]
    assert phase[0, 3] == 2 and phase[2, 3] == 2  # sparse: superposition either way


def test_classify_weights():
    W = np.array([[[1.0, 0.1]], [[-0.02, -0.98]], [[0.9, -1.1]], [[0.9, 1.0]], [[0.1, 0.2]]])
    assert classify(W).tolist() == [0, 1, 2, -1, -1]


@pytest.mark.slow
def test_trained_points_land_in_the_predicted_phase():
    diagram = phase_diagram(PhaseDiagramConfig(grid_size=9), progress=False)
    assert diagram.phase.shape == (9, 9) and diagram.candidate_loss.shape == (3, 9, 9)
    assert set(diagram.predicted_phase.tolist()) == {0, 1, 2}  # every phase visited
    np.testing.assert_array_equal(diagram.trained_phase, diagram.predicted_phase)
    best = candidate_losses(diagram.trained_importance_ratio, diagram.trained_sparsity)
    best = best.min(axis=0).diagonal()
    np.testing.assert_allclose(diagram.trained_loss, best, rtol=0.1)
