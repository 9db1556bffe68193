"""sampling.py's reading of an exported generator's metadata."""
import pytest

from train.gan.sampling import conditional_metadata


@pytest.mark.parametrize("meta, conditional", [
    ({}, True),  # exported before the key existed: every such run was conditional
    ({"conditional": "true"}, True),
    ({"conditional": "false"}, False),
])
def test_a_generator_is_conditional_unless_its_metadata_says_not(meta, conditional):
    assert conditional_metadata(meta) is conditional
