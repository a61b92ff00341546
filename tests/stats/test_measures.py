"""The statistics' estimators: the cluster-size exponent and the degree law."""

import numpy as np
from scipy import stats

from percolation_tms.stats import measures


def test_exponent_fit_recovers_five_halves_from_yule_simon_samples():
    # Yule-Simon with rho = 1.5 has the pmf tail s^-(rho + 1) = s^-2.5, like the cluster sizes.
    sizes = stats.yulesimon.rvs(1.5, size=400_000, random_state=np.random.default_rng(1))
    fit = measures.size_exponent(sizes, s_min=10)
    assert measures.EXPONENT_S_MIN == 10 and fit.n_tail == np.count_nonzero(sizes >= 10)
    assert abs(fit.exponent - 2.5) < 0.1
    assert np.isclose(fit.sigma, (fit.exponent - 1) / np.sqrt(fit.n_tail))


def test_exponent_fit_is_unbiased_on_continuous_pareto_samples():
    # The estimator is the exact MLE for a continuous power law: within 3 sigma of the truth.
    rng = np.random.default_rng(2)
    sizes = 10.0 * (1.0 - rng.random(50_000)) ** (-1.0 / 1.5)  # Pareto, density tail s^-2.5
    fit = measures.size_exponent(sizes, s_min=10)
    assert fit.n_tail == sizes.size
    assert abs(fit.exponent - 2.5) < 3 * fit.sigma


def test_exponent_fit_without_a_tail_is_nan():
    fit = measures.size_exponent(np.array([1, 2, 3, 10]), s_min=10)
    assert np.isnan(fit.exponent) and fit.n_tail == 1


def test_poisson_plus_one_pmf():
    k = np.arange(0, 30)
    pmf = measures.poisson_plus_one_pmf(k)
    assert pmf[0] == 0 and np.isclose(pmf.sum(), 1.0)
    assert np.isclose(pmf[1], np.exp(-1)) and np.isclose(pmf[3], np.exp(-1) / 2)
