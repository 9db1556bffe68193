"""Hypothesis fuzzing of the decoding path, a bounded number of cases (a few seconds in CI).

The edits are bench/fuzz_detector.py's; `python bench/fuzz_detector.py` runs far more of them.
Property: load_pixels gives a uint8 [28, 28] array or raises ImageError, nothing else, in
bounded time, with or without resize.
"""

from datetime import timedelta

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bench.fuzz_detector import N_EDITS, SIGNATURES, build, check, edit, seeds

SEEDS = seeds()
FUZZ = settings(max_examples=300, deadline=timedelta(seconds=5), derandomize=True,
                database=None, suppress_health_check=[HealthCheck.too_slow])

edits = st.lists(st.tuples(st.integers(0, N_EDITS - 1), st.integers(0, 2**32 - 1),
                           st.integers(0, 255)), min_size=1, max_size=8)


@FUZZ
@given(seed=st.sampled_from(SEEDS), changes=edits, fix_crcs=st.booleans())
def test_damaged_images_decode_or_raise_image_error(seed, changes, fix_crcs):
    check(build(seed[1], changes, fix_crcs))


@settings(FUZZ, max_examples=60)
@given(data=st.binary(max_size=2048))
def test_random_bytes_decode_or_raise_image_error(data):
    check(data)


@settings(FUZZ, max_examples=60)
@given(data=st.binary(max_size=512), prefix=st.sampled_from(sorted(SIGNATURES)))
def test_random_bytes_after_a_format_signature(data, prefix):
    """A real signature sends the bytes to that format's own parser rather than a refusal."""
    check(SIGNATURES[prefix] + data)


def test_seeds_are_valid_images_of_every_format():
    """The seeds themselves decode (with resize for the 32x32 one): damage is what fails."""
    assert {name.split("-")[0] for name, _ in SEEDS} == {"png", "jpeg", "gif", "bmp", "tiff",
                                                         "webp"}
    assert all(check(data) == "decoded" for name, data in SEEDS if name != "png-32x32")


@pytest.mark.parametrize("kind", range(N_EDITS))
def test_each_edit_changes_the_bytes(kind):
    data = bytes(range(100))
    assert edit(data, kind, 10, 3) != data
