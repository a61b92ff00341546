"""The Gaussian limit (check 4), the linear baselines (check 5), the high-sparsity law (section
6) and the weight statistics (section 8)."""

import numpy as np
import pytest

from percolation_tms.persianrug import (
    PersianRugConfig,
    draw_rug_rows,
    gaussian_limit,
    gaussian_limit_loss,
    high_sparsity_loss,
    linear_optimum_loss,
    public_linear_loss,
    rug_kernel,
    rug_matrix,
    rug_statistics,
    theory,
    train_large,
    weight_statistics,
)


@pytest.mark.parametrize("m,p,want", [(2080, 0.044001, 4.583e-3), (704, 0.38, 8.270e-2),
                                      (6553, 0.8, 2.000e-2)])
def test_gaussian_limit_values(m, p, want):
    assert gaussian_limit_loss(8192, m, p) == pytest.approx(want, rel=0.005)


def test_closed_forms_equal_quadrature():
    z, w = np.polynomial.hermite_e.hermegauss(160)
    w = w / w.sum()
    for c, sigma in ((-0.4, 0.3), (0.2, 0.05), (1.9, 0.98), (-2.0, 0.5)):
        nu = c + sigma * z
        want = (np.dot(w, theory._g(nu)), np.dot(w, theory._h(nu)),
                np.dot(w, np.maximum(nu, 0) ** 2))
        # Gauss-Hermite is slow to converge across the kinks: a loose bound.
        np.testing.assert_allclose(theory.gaussian_expectations(c, sigma), want, rtol=2e-3,
                                   atol=1e-6)


def test_the_bracket_reaches_the_linear_optimum_at_m16():
    # Section 5: at m = 16, n = 8192, p >= 0.25 the minimum is the linear optimum at c_lin.
    limit = gaussian_limit(8192, 16, 0.8)
    assert limit.loss == pytest.approx(linear_optimum_loss(8192, 16, 0.8), rel=1e-6)
    assert limit.c > 100


def test_limit_never_exceeds_the_linear_optimum_and_vectorises():
    ratios, ps = np.meshgrid(np.linspace(0.002001, 0.8, 20), np.linspace(0.002001, 0.8, 20))
    m = np.maximum(1, (8192 * ratios).astype(int))
    loss = gaussian_limit_loss(8192, m, ps)
    assert loss.shape == (20, 20)
    assert np.all(loss <= linear_optimum_loss(8192, m, ps) * (1 + 1e-9))
    assert loss[3, 7] == pytest.approx(gaussian_limit_loss(8192, m[3, 7], ps[3, 7]), rel=1e-9)


def test_linear_baselines():
    # Check 5.
    assert linear_optimum_loss(512, 128, 0.045) == pytest.approx(0.010870, abs=5e-7)
    assert public_linear_loss(512, 128, 0.045) == pytest.approx(0.011221, abs=5e-7)


@pytest.mark.parametrize("p,ratio_log", [(1e-2, 0.204), (1e-3, 0.170), (1e-4, 0.158)])
def test_high_sparsity_table(p, ratio_log):
    # Section 6's table (r = 0.5, so n/m - 1 = 1).
    loss = gaussian_limit_loss(2, 1, p)
    assert loss / (p * p * np.log(1 / p)) == pytest.approx(ratio_log, abs=0.0015)
    assert high_sparsity_loss(2, 1, p) == pytest.approx(p * p / 6 * np.log(1 / p))


def test_rug_statistics_equal_those_of_its_dense_matrix():
    n, m, p, a, b = 256, 64, 0.2, 0.8, -0.1
    rows = draw_rug_rows(n, m, 0, 0)
    dense = weight_statistics(a * rug_matrix(n, rows), np.full(n, a * b), p)
    fast = rug_statistics(rug_kernel(n, rows), a, b, p)
    np.testing.assert_allclose(np.array(fast), np.array(dense), rtol=1e-9, atol=1e-12)
    v = p / 3 - p * p / 4
    assert fast.diag_mean == pytest.approx(a)
    assert fast.interference_var_mean == pytest.approx(a * a * v * (n / m - 1))
    assert fast.interference_mean_var == pytest.approx(0, abs=1e-20)


def test_statistics_of_a_known_matrix():
    n, p = 200, 0.5
    W = np.eye(n) * 2.0
    W[0, 1] = 3.0  # one large interference weight: nu_0 = 3 x_1 is uniform, not Gaussian
    W[5, :] += 0.1
    b = np.linspace(-1, 1, n)
    st = weight_statistics(W, b, p, ks_samples=3000)
    diag = np.diagonal(W)
    assert st.diag_mean == pytest.approx(diag.mean())
    assert st.diag_var == pytest.approx(diag.var(ddof=1))
    assert st.bias_var == pytest.approx(b.var(ddof=1))
    assert st.lyapunov_max == pytest.approx(3.0)  # row 0: 27 / 9
    assert st.ks_pvalue < 1e-6
    off = W.sum(axis=1) - diag
    assert st.interference_mean_mean == pytest.approx(np.mean(p / 2 * off))


def test_interference_of_a_dense_rug_row_is_gaussian():
    n = 4096
    c = rug_kernel(n, draw_rug_rows(n, 1024, 0, 0))
    assert rug_statistics(c, 1.0, 0.0, 0.3, ks_samples=2000).ks_pvalue > 1e-3


@pytest.mark.parametrize("kwargs,match", [
    ({"ratios": (0.0,)}, "ratios must be in"),
    ({"probabilities": (1.2,)}, "probabilities must be in"),
    ({"steps": 0}, "steps must be a positive"),
    ({"eval_samples": -1}, "eval_samples must be a positive"),
    ({"n_features": (100,)}, "powers of two"),
    ({"kinds": ("trained", "gpu")}, "kinds must be among"),
    ({"seeds": (1, 1)}, "seeds must not repeat"),
])
def test_config_errors_name_the_field(kwargs, match):
    with pytest.raises(ValueError, match=match):
        PersianRugConfig(**kwargs)


def test_train_large_errors():
    with pytest.raises(ValueError, match="m must be at most"):
        train_large(16, 17, 0.1)
    with pytest.raises(ValueError, match="steps must be a positive"):
        train_large(16, 4, 0.1, steps=0)
    with pytest.raises(ValueError, match="eval_samples must be a positive"):
        train_large(16, 4, 0.1, eval_samples=0)
