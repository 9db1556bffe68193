"""The real-data statistics cache: reused while the sources are unchanged, recomputed after."""
import os

import numpy as np

from train.metrics.reference_stats import cache_path, cached_statistics


def test_cache_is_reused_then_invalidated_by_a_changed_source(tmp_path):
    source = tmp_path / "t10k-images-idx3-ubyte.gz"
    source.write_bytes(b"x" * 10)
    calls = []

    def features():
        calls.append(1)
        return np.arange(12.0).reshape(4, 3) * len(calls)

    path = cache_path(tmp_path / "cache", "test", 4)
    assert path.name == "fid_stats_test_4.npz"
    mu, sigma, cached = cached_statistics(path, [source], features)
    assert not cached and len(calls) == 1
    np.testing.assert_allclose(mu, [4.5, 5.5, 6.5])
    mu2, sigma2, cached = cached_statistics(path, [source], features)
    assert cached and len(calls) == 1
    np.testing.assert_array_equal(mu2, mu)
    np.testing.assert_array_equal(sigma2, sigma)
    source.write_bytes(b"y" * 11)  # new size
    os.utime(source, ns=(1, 1))
    mu3, _, cached = cached_statistics(path, [source], features)
    assert not cached and len(calls) == 2
    np.testing.assert_allclose(mu3, 2 * mu)


def test_a_corrupt_cache_file_is_recomputed(tmp_path):
    source = tmp_path / "src"
    source.write_bytes(b"1")
    path = cache_path(tmp_path, "test", 2)
    path.write_bytes(b"not an npz")
    mu, _, cached = cached_statistics(path, [source], lambda: np.array([[0.0], [2.0]]))
    assert not cached and mu.tolist() == [1.0]
