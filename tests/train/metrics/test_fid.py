"""Fréchet distance against closed forms and against fid-helper-pytorch's own code."""
import numpy as np
import pytest

from train.errors import EvaluationError
from train.metrics.fid import fid_from_features, frechet_distance, statistics


def test_one_dimensional_gaussians_match_the_closed_form():
    m1, s1, m2, s2 = 1.5, 4.0, -0.5, 9.0
    expected = (m1 - m2) ** 2 + s1 + s2 - 2 * np.sqrt(s1 * s2)  # 4 + 13 - 12 = 5
    assert frechet_distance(m1, s1, m2, s2) == pytest.approx(expected) == pytest.approx(5.0)


def test_diagonal_covariances_sum_per_dimension():
    mu1, mu2 = np.array([0.0, 1.0, 2.0]), np.array([1.0, 1.0, 0.0])
    v1, v2 = np.array([1.0, 4.0, 0.25]), np.array([4.0, 1.0, 0.25])
    expected = np.sum((mu1 - mu2) ** 2 + v1 + v2 - 2 * np.sqrt(v1 * v2))
    assert frechet_distance(mu1, np.diag(v1), mu2, np.diag(v2)) == pytest.approx(expected)


def test_identical_statistics_give_zero():
    x = np.random.default_rng(0).normal(size=(200, 6))
    mu, sigma = statistics(x)
    assert frechet_distance(mu, sigma, mu, sigma) == pytest.approx(0.0, abs=1e-8)


def test_statistics_are_the_mean_and_unbiased_covariance():
    mu, sigma = statistics(np.array([[0.0, 0.0], [2.0, 0.0], [0.0, 2.0], [2.0, 2.0]]))
    np.testing.assert_allclose(mu, [1.0, 1.0])
    np.testing.assert_allclose(sigma, np.eye(2) * 4 / 3)


def test_fewer_samples_than_dimensions_stays_finite():
    rng = np.random.default_rng(1)
    value = fid_from_features(rng.normal(size=(5, 16)), rng.normal(size=(5, 16)) + 1)
    assert np.isfinite(value) and value > 0


@pytest.mark.parametrize("bad", [
    lambda: frechet_distance(np.zeros(2), np.eye(2), np.zeros(3), np.eye(3)),
    lambda: statistics(np.zeros((1, 4))),
])
def test_bad_shapes_raise_evaluation_error(bad):
    with pytest.raises(EvaluationError):
        bad()


@pytest.mark.filterwarnings("ignore::DeprecationWarning")  # the package passes scipy's old disp=
def test_matches_fid_helper_pytorch_on_the_same_features():
    fid_helper = pytest.importorskip("fid_helper_pytorch")
    rng = np.random.default_rng(2)
    a, b = rng.normal(size=(64, 10)), rng.normal(0.3, 1.2, size=(80, 10))
    helper = fid_helper.FidHelper.__new__(fid_helper.FidHelper)  # stats only: no network load
    helper.ref_stat_dict = {"mu": a.mean(0), "sigma": np.cov(a, rowvar=False)}
    helper.eval_stat_dict = {"mu": b.mean(0), "sigma": np.cov(b, rowvar=False)}
    assert fid_from_features(a, b) == pytest.approx(float(helper.compute_fid_score()), rel=1e-9)


@pytest.mark.parametrize("n1, n2, dim", [(6, 7, 8), (8, 8, 8), (30, 40, 50), (3, 9, 20)])
def test_low_rank_fid_equals_the_covariance_formula(n1, n2, dim):
    rng = np.random.default_rng(n1 + n2 + dim)
    a, b = rng.normal(size=(n1, dim)), rng.normal(size=(n2, dim)) * 1.5 + 0.3
    from train.metrics.fid import low_rank_fid
    assert low_rank_fid(a, b) == pytest.approx(frechet_distance(*statistics(a), *statistics(b)), rel=1e-6)


def test_few_vectors_in_many_dimensions_take_the_exact_low_rank_path_when_asked():
    a = np.random.default_rng(0).normal(size=(20, 2048))
    assert fid_from_features(a, a, low_rank=True) == pytest.approx(0.0, abs=1e-9)
    assert fid_from_features(a, a + 1.0, low_rank=True) == pytest.approx(2048.0)  # a shift: |Δmu|² alone


def test_without_low_rank_the_covariance_route_is_kept(monkeypatch):
    import train.metrics.fid as fid
    monkeypatch.setattr(fid, "low_rank_fid", lambda *a: pytest.fail("low-rank path taken"))
    a = np.random.default_rng(0).normal(size=(5, 8))
    assert fid.fid_from_features(a, a + 1.0) == pytest.approx(8.0, abs=1e-3)
