import json

import numpy as np
import onnx
import pytest
import torch

from detector import load_detector
from train.data import to_model_range
from train.detection.evaluate import onnx_logits
from train.detection.export import install_with_zero_shot, with_zero_shot, ZERO_SHOT_KEY
from train.detection.zero_shot import brightest_levels, BrightestLevel, fit_brightest_cut
from train.errors import TrainError


def images_with_brightest(levels) -> np.ndarray:
    """uint8 [N, 28, 28]: a black image with one 6x6 patch at each given level."""
    out = np.zeros((len(levels), 28, 28), dtype=np.uint8)
    for image, level in zip(out, levels):
        image[10:16, 10:16] = level
    return out


def test_brightest_levels_is_each_images_largest_pixel():
    assert brightest_levels(images_with_brightest([0, 17, 254, 255])).tolist() == [0, 17, 254, 255]


@pytest.mark.parametrize("brightest, logit", [(250, 0.5), (249, -0.5), (255, 5.5), (246, -3.5)])
def test_the_logit_is_a_grey_level_per_unit_around_the_cut(brightest, logit):
    part = BrightestLevel(cut=250)
    image = to_model_range(torch.from_numpy(images_with_brightest([brightest])))
    torch.testing.assert_close(part(image), torch.tensor([logit]))


def test_the_cut_lets_every_clean_real_image_through_and_the_budget_of_jpeg_copies():
    # flat patches survive JPEG almost unchanged, so the cut is the darkest clean brightest level
    real = images_with_brightest([254, 255, 255, 255])
    assert fit_brightest_cut(real, jpeg_quality=95, jpeg_budget=0.0) <= 254
    assert fit_brightest_cut(real, jpeg_quality=95, jpeg_budget=0.0) >= 250


def test_a_larger_jpeg_budget_never_lowers_the_cut():
    rng = np.random.default_rng(0)
    real = (rng.random((64, 28, 28)) ** 4 * 255).astype(np.uint8)
    real[:, 3, 3] = 255
    cuts = [fit_brightest_cut(real, 75, budget) for budget in (0.0, 0.1, 0.5)]
    assert cuts == sorted(cuts) and cuts[-1] <= 255


@pytest.fixture
def base_detector(tmp_path):
    """An ONNX detector of the runtime's contract whose logit is the mean pixel (model range) * 10."""
    from detector.metadata import contract_metadata, INPUT_NAME, REAL_LOGIT
    from train.data import CLASS_NAMES
    from train.run.onnx_file import write_checked

    class MeanPixel(torch.nn.Module):
        def forward(self, image):
            return image.flatten(1).mean(1) * 10

    path = tmp_path / "base.onnx"
    inputs = {INPUT_NAME: torch.rand(4, 1, 28, 28) * 2 - 1}
    write_checked(MeanPixel(), inputs, REAL_LOGIT, path, contract_metadata("detector", CLASS_NAMES))
    return path


def test_joining_gives_the_smaller_logit_and_records_the_part(tmp_path, base_detector):
    images = images_with_brightest([255, 240, 255, 200])
    images[2] = 255                                             # all white: base logit 10, part 5.5
    out = tmp_path / "joined.onnx"
    install_with_zero_shot(base_detector, BrightestLevel(250), {"cut": 250}, out, images)
    session_logits = onnx_logits(out, images)          # through the runtime package, as the CLI scores
    x = to_model_range(torch.from_numpy(images))
    expected = np.minimum(x.flatten(1).mean(1).numpy() * 10, BrightestLevel(250)(x).numpy())
    np.testing.assert_allclose(session_logits, expected, atol=1e-5)
    meta = {p.key: p.value for p in onnx.load(str(out)).metadata_props}
    assert json.loads(meta[ZERO_SHOT_KEY]) == {"cut": 250} and meta["kind"] == "detector"
    # only the all-white image passes both: the others are dark (base) or below the cut (part)
    assert [p.label for p in load_detector(out).detect_arrays(images)] == ["generated", "generated", "real", "generated"]


def test_a_model_with_a_zero_shot_part_is_not_joined_again(tmp_path, base_detector):
    images = images_with_brightest([255, 255])
    out = tmp_path / "joined.onnx"
    install_with_zero_shot(base_detector, BrightestLevel(250), {"cut": 250}, out, images)
    with pytest.raises(TrainError, match="zero-shot part already"):
        with_zero_shot(onnx.load(str(out)), onnx.load(str(out)), {})
