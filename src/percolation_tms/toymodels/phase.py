"""The analytic phase diagram of two features in one hidden dimension (spec section 6).

Feature 1 has importance 1, feature 2 importance r; both are present with probability
p = 1 - S and then uniform in [0, 1).  With one hidden dimension a ``tied`` model can

* represent feature 1 only: W = (1, 0), b = (0, p/2).  Feature 1 is reproduced exactly; the
  best constant for feature 2 is its mean p/2, leaving its variance p/3 - p^2/4;
* represent feature 2 only: the same with the roles swapped;
* represent both antipodally, in superposition: W = (1, -1), b = 0.  An output is exact
  unless both features are present, when the error is min(x_1, x_2), with E[min^2] = 1/6.

Expected losses, as mean over the two features of I_i (x_i - x'_i)^2 (the training loss):

    feature_1_only:  r (p/3 - p^2/4) / 2
    feature_2_only:  (p/3 - p^2/4) / 2
    superposition:   (1 + r) p^2 / 12

The phase at (r, S) is the argmin.  A few grid points are also trained from scratch and their
learned weights classified, to check that they land in the predicted phase.  Gradient descent
finds the antipodal solution only from a start where the two weights have opposite signs (from
equal signs w_2 must cross 0, a saddle, and it settles for one feature), so every point is
trained from several seeds and the one with the lowest held-out loss is kept: the trained
counterpart of the argmin over candidates.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

import numpy as np

from percolation_tms import settings
from percolation_tms.io import save_arrays
from percolation_tms.toymodels.config import PhaseDiagramConfig
from percolation_tms.toymodels.data import synthetic_source
from percolation_tms.toymodels.measure import REPRESENTED_ABOVE
from percolation_tms.toymodels.train import train_instances

CANDIDATE_NAMES = ("feature_1_only", "feature_2_only", "superposition")
PHASE_UNCLASSIFIED = -1
# The check models' loss history is not kept: this only paces the progress messages.
_HISTORY_EVERY = 100


def candidate_losses(importance_ratio, sparsity) -> np.ndarray:
    """Expected loss of each candidate solution (``CANDIDATE_NAMES``).

    Parameters
    ----------
    importance_ratio : float array of shape (R,)
        r > 0.
    sparsity : float array of shape (S,)
        S in [0, 1).

    Returns
    -------
    float64 array of shape (3, R, S)
    """
    r = np.asarray(importance_ratio, dtype=np.float64)[:, None]
    s = np.asarray(sparsity, dtype=np.float64)[None, :]
    if np.any(r <= 0) or np.any((s < 0) | (s >= 1)):
        raise ValueError("importance ratios must be > 0 and sparsities in [0, 1)")
    p = 1.0 - s
    variance = p / 3.0 - p**2 / 4.0
    return np.stack(np.broadcast_arrays(r * variance / 2.0, variance / 2.0,
                                        (1.0 + r) * p**2 / 12.0))


def classify(W, b=None) -> np.ndarray:
    """The phase of trained two-feature, one-dimension models.

    Parameters
    ----------
    W : float array of shape (P, 1, 2)
    b : ignored (the weights decide the phase)

    Returns
    -------
    int64 array of shape (P,)
        The candidate index, or -1 (``PHASE_UNCLASSIFIED``) if none fits (neither feature
        represented, or both without opposite signs).
    """
    W = np.asarray(W, dtype=np.float64)
    if W.ndim != 3 or W.shape[1:] != (1, 2):
        raise ValueError(f"W must have shape (P, 1, 2), got {W.shape}")
    w1, w2 = W[:, 0, 0], W[:, 0, 1]
    on1 = np.abs(w1) > REPRESENTED_ABOVE
    on2 = np.abs(w2) > REPRESENTED_ABOVE
    phase = np.full(W.shape[0], PHASE_UNCLASSIFIED, dtype=np.int64)
    phase[on1 & ~on2] = 0
    phase[~on1 & on2] = 1
    phase[on1 & on2 & (w1 * w2 < 0)] = 2
    return phase


@dataclass(frozen=True)
class PhaseDiagram:
    """The analytic map and the trained check points.

    Attributes
    ----------
    importance_ratio : float64 array of shape (R,)
    sparsity : float64 array of shape (S,)
    candidate_loss : float64 array of shape (3, R, S)
    phase : int64 array of shape (R, S)
        The argmin over candidates.
    trained_importance_ratio, trained_sparsity : float64 arrays of shape (P,)
    trained_phase, predicted_phase : int64 arrays of shape (P,)
    trained_W : float64 array of shape (P, 1, 2)
    trained_b : float64 array of shape (P, 2)
    trained_loss : float64 array of shape (P,)
    trained_seed : int64 array of shape (P,)
        The model seed kept at each point (lowest held-out loss).
    config : PhaseDiagramConfig
        The settings it was made with (saved as JSON in the file's ``config``).
    """

    importance_ratio: np.ndarray
    sparsity: np.ndarray
    candidate_loss: np.ndarray
    phase: np.ndarray
    trained_importance_ratio: np.ndarray
    trained_sparsity: np.ndarray
    trained_phase: np.ndarray
    predicted_phase: np.ndarray
    trained_W: np.ndarray
    trained_b: np.ndarray
    trained_loss: np.ndarray
    trained_seed: np.ndarray
    config: PhaseDiagramConfig

    def save(self, path) -> None:
        """Write ``phase_diagram.npz`` (``docs/file-formats.md``), atomically."""
        save_arrays(path, config=np.array(json.dumps(settings.to_dict(self.config))),
                    importance_ratio=self.importance_ratio, sparsity=self.sparsity,
                    candidate_names=np.array(CANDIDATE_NAMES), candidate_loss=self.candidate_loss,
                    phase=self.phase, trained_importance_ratio=self.trained_importance_ratio,
                    trained_sparsity=self.trained_sparsity, trained_phase=self.trained_phase,
                    predicted_phase=self.predicted_phase, trained_W=self.trained_W,
                    trained_b=self.trained_b, trained_loss=self.trained_loss,
                    trained_seed=self.trained_seed)


def phase_diagram(config: PhaseDiagramConfig | None = None, progress: bool = True
                  ) -> PhaseDiagram:
    """The analytic phase diagram and trained check models.

    The argmin map on ``config.grid_size`` log-spaced ratios in [0.1, 10] and as many
    sparsities with log-spaced density 1 - S in [0.01, 1], and ``tied`` models (n = 2, m = 1)
    trained from each of ``config.seeds`` at every one of ``config.trained_points`` (pairs
    (r, S)), the seed with the lowest held-out loss kept.

    Parameters
    ----------
    config : PhaseDiagramConfig, optional
        Default: ``PhaseDiagramConfig()``.
    progress : bool
        Log the training loss.

    Returns
    -------
    PhaseDiagram
    """
    config = PhaseDiagramConfig() if config is None else config
    grid_size = config.grid_size
    seeds = np.asarray(config.seeds, dtype=np.int64)
    ratio = np.logspace(-1.0, 1.0, grid_size)
    sparsity = 1.0 - np.logspace(0.0, -2.0, grid_size)
    losses = candidate_losses(ratio, sparsity)
    points = np.asarray(config.trained_points, dtype=np.float64).reshape(-1, 2)
    n_points = len(points)
    trained_ratio, trained_sparsity = points[:, 0], points[:, 1]
    predicted = np.argmin(candidate_losses(trained_ratio, trained_sparsity)[
        :, np.arange(n_points), np.arange(n_points)], axis=0).astype(np.int64)
    # Instances point-major: instance p * len(seeds) + s is point p from seed s.
    probability = np.repeat(np.repeat((1.0 - trained_sparsity)[:, None], 2, axis=1),
                            len(seeds), axis=0)
    importance = np.repeat(np.stack([np.ones(n_points), trained_ratio], axis=1), len(seeds),
                           axis=0)
    result = train_instances("tied", 1, synthetic_source(probability), importance,
                             np.tile(seeds, n_points), steps=config.steps,
                             batch_size=config.batch_size, optimizer=config.optimizer,
                             eval_batch_size=config.eval_batch_size,
                             history_every=_HISTORY_EVERY, progress=progress)
    best = np.argmin(result.eval_loss.reshape(n_points, len(seeds)), axis=1)
    chosen = np.arange(n_points) * len(seeds) + best
    return PhaseDiagram(importance_ratio=ratio, sparsity=sparsity, candidate_loss=losses,
                        phase=np.argmin(losses, axis=0).astype(np.int64),
                        trained_importance_ratio=trained_ratio,
                        trained_sparsity=trained_sparsity,
                        trained_phase=classify(result.W[chosen]), predicted_phase=predicted,
                        trained_W=result.W[chosen], trained_b=result.b[chosen],
                        trained_loss=result.eval_loss[chosen], trained_seed=seeds[best],
                        config=config)
