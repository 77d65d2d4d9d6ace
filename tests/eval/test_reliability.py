import math

import numpy as np
import pytest

from eval.reliability import bootstrap_ci, correlations, krippendorff_alpha, weighted_kappa

# Krippendorff (2011), "Computing Krippendorff's Alpha-Reliability", example C: 4 observers, 12 units,
# values 1-5 with missing data. Published: nominal .743, ordinal .815, interval .849.
N = None
OBSERVERS = [
    [1, 2, 3, 3, 2, 1, 4, 1, 2, N, N, N],
    [1, 2, 3, 3, 2, 2, 4, 1, 2, 5, N, 3],
    [N, 3, 3, 3, 2, 3, 4, 2, 2, 5, 1, N],
    [1, 2, 3, 3, 2, 4, 4, 1, 2, 5, 1, N],
]
UNITS = [list(u) for u in zip(*OBSERVERS, strict=True)]


@pytest.mark.parametrize("level, published", [("nominal", 0.743), ("ordinal", 0.815), ("interval", 0.849)])
def test_krippendorff_alpha_matches_literature(level, published):
    assert krippendorff_alpha(UNITS, level) == pytest.approx(published, abs=5e-4)


def test_krippendorff_alpha_edge_cases():
    assert krippendorff_alpha([[3, 3], [1, 1], [5, 5]], "interval") == pytest.approx(1.0)
    assert math.isnan(krippendorff_alpha([[3], [2, None]], "interval"))  # nothing pairable
    assert math.isnan(krippendorff_alpha([[3, 3], [3, 3]], "ordinal"))  # no variation


def test_quadratic_kappa_hand_computed():
    # Observed pairs (1,1),(1,2),(2,2),(2,2); weights ((i-j)/4)^2: observed disagreement 1/16,
    # expected counts from marginals [2,2] x [1,3] / 4 give 2/16 -> kappa = 1 - 1/2 = 0.5.
    assert weighted_kappa([1, 1, 2, 2], [1, 2, 2, 2]) == pytest.approx(0.5)
    assert weighted_kappa([1, 2, 3, 4, 5], [1, 2, 3, 4, 5]) == pytest.approx(1.0)
    # Perfectly reversed on the full scale: observed sum of (i-j)^2 over the 5 pairs = 40; expected
    # with uniform marginals = 0.2 x (sum of (i-j)^2 over all 25 cells = 100) = 20 -> kappa = 1 - 2 = -1.
    assert weighted_kappa([1, 2, 3, 4, 5], [5, 4, 3, 2, 1]) == pytest.approx(-1.0)
    assert math.isnan(weighted_kappa([3, 3], [3, 3]))


def test_linear_kappa_differs_from_quadratic():
    a, b = [1, 2, 3, 4, 5, 3], [2, 2, 3, 5, 5, 1]
    assert weighted_kappa(a, b, weights="linear") != pytest.approx(weighted_kappa(a, b))


def test_correlations_and_bootstrap():
    r, rho = correlations([1, 2, 3, 4], [1.5, 2, 3, 4.5])
    assert r == pytest.approx(np.corrcoef([1, 2, 3, 4], [1.5, 2, 3, 4.5])[0, 1])
    assert rho == pytest.approx(1.0)
    assert all(math.isnan(v) for v in correlations([1, 2], [2, 1]))
    values = [1, 2, 3, 4, 5] * 8
    lo, hi = bootstrap_ci(values, seed=7, n_boot=500)
    assert lo < 3 < hi and (lo, hi) == bootstrap_ci(values, seed=7, n_boot=500)
    assert (lo, hi) != bootstrap_ci(values, seed=8, n_boot=500)
    assert bootstrap_ci([4.0], seed=0) == (4.0, 4.0)
