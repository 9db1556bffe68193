import json

import numpy as np
import onnx
import pytest
import torch

from detector import load_detector
from train.data import to_model_range
from train.detection.evaluate import onnx_logits
from train.detection.export import install_with_part, with_part, ZERO_SHOT_KEY
from train.detection.zero_shot import (brightest_levels, BrightestLevel, dct_matrix, fit_brightest_cut, fit_floor,
                                       fit_trace_cut, jpeg_trace)
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


def smooth_and_rough(level: float = 200.0) -> torch.Tensor:
    """Grey levels [2, 1, 16, 16]: four blocks of low frequencies only (a DCT basis image with
    content), and the same plus checkerboard noise in every high frequency."""
    dct = dct_matrix()
    coefficients = torch.zeros(8, 8)
    coefficients[0, 0], coefficients[0, 1], coefficients[1, 0] = level - 128, 60.0, -40.0
    block = dct.T @ coefficients @ dct + 128                       # inverse DCT
    smooth = block.repeat(2, 2)
    rough = smooth + torch.tensor([[(-1.0) ** (i + j) * 7 for j in range(16)] for i in range(16)]) \
        + torch.randn(16, 16, generator=torch.Generator().manual_seed(0)) * 5
    return torch.stack([smooth, rough])[:, None]


def test_jpeg_trace_counts_zeroed_high_frequencies_in_blocks_with_content():
    smooth, rough = jpeg_trace(smooth_and_rough(), dct_matrix())
    assert smooth.item() == pytest.approx(1.0) and rough.item() < 0.1
    flat = torch.full((1, 1, 28, 28), 0.0)                          # no block with content
    assert jpeg_trace(flat, dct_matrix()).item() == 0.0


def test_the_dct_matrix_is_orthonormal():
    d = dct_matrix()
    torch.testing.assert_close(d @ d.T, torch.eye(8), atol=1e-6, rtol=0)


@pytest.mark.parametrize("brightest, trace, real", [
    (255, 0.0, True), (254, 0.0, True),        # the format's floor: real whatever the trace
    (250, 1.0, True), (250, 0.0, False),       # below it: real only with a JPEG trace
    (230, 1.0, False),                         # below the cut: generated whatever the trace
])
def test_the_rule_floor_then_trace_then_cut(brightest, trace, real, monkeypatch):
    import train.detection.zero_shot as zero_shot
    monkeypatch.setattr(zero_shot, "jpeg_trace", lambda levels, dct: torch.full((len(levels),), trace))
    image = to_model_range(torch.from_numpy(images_with_brightest([brightest])))
    assert (BrightestLevel(cut=240, trace_cut=0.5, floor=254)(image).item() >= 0) == real


def test_the_trace_cut_keeps_its_budget_of_jpeg_copies_and_is_minus_one_without_any_below_the_floor():
    rng = np.random.default_rng(0)
    real = (rng.random((40, 28, 28)) ** 3 * 255).astype(np.uint8)
    real[:, 10:13, 10:13] = 255
    cuts = [fit_trace_cut(real, budget, floor=254) for budget in (0.0, 0.2, 0.6)]
    assert cuts == sorted(cuts)
    flat = np.full((4, 28, 28), 255, dtype=np.uint8)              # JPEG keeps a flat white image at 255
    assert fit_trace_cut(flat, 0.1, floor=254) == -1.0


def test_the_floor_is_what_every_real_image_reaches():
    assert fit_floor(images_with_brightest([255, 254, 255])) == 254


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
    install_with_part(base_detector, BrightestLevel(250), ZERO_SHOT_KEY, {"cut": 250}, out, images)
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
    install_with_part(base_detector, BrightestLevel(250), ZERO_SHOT_KEY, {"cut": 250}, out, images)
    with pytest.raises(TrainError, match="has a zero_shot part already"):
        with_part(onnx.load(str(out)), onnx.load(str(out)), ZERO_SHOT_KEY, {})
