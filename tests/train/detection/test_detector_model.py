import numpy as np
import pytest
import torch

from train.detection.augment import augment, AUGMENTATIONS, jpeg, shift
from train.detection.model import DetectorNet, FingerprintCNN
from train.detection.real_model import RealStatistics
from train.detection.top_levels import TopLevels
from train.detection.zero_shot import BrightestLevel


def test_detector_is_real_only_when_all_parts_are_and_the_threshold_moves_the_cnn_alone():
    torch.manual_seed(0)
    top_levels = TopLevels(floor=0)
    top_levels.weights.fill_(0.1)
    net = DetectorNet(FingerprintCNN(width=4), RealStatistics(components=2), BrightestLevel(250), top_levels).eval()
    images = torch.rand(6, 1, 28, 28) * 2 - 1
    net.platt.copy_(torch.tensor([2.0, -1.0]))
    net.threshold.fill_(-1.5)
    parts = [2.0 * net.fingerprint(images) - 1.0 + 1.5, net.real_model(images), net.zero_shot(images),
             net.top_levels(images)]
    torch.testing.assert_close(net.parts(images), torch.stack(parts, 1))
    torch.testing.assert_close(net(images), torch.stack(parts, 1).amin(1))


@pytest.mark.parametrize("function", [shift, jpeg])
def test_each_augmentation_keeps_shape_and_range(function):
    rng = torch.Generator().manual_seed(0)
    images = torch.rand(8, 1, 28, 28) * 2 - 1
    out = function(images, rng)
    assert out.shape == images.shape and not torch.equal(out, images)
    assert out.min() >= -1.5 and out.max() <= 1.5


def test_shift_moves_whole_pixels_and_fills_with_black():
    image = -torch.ones(1, 1, 28, 28)
    image[0, 0, 14, 14] = 1.0
    rng = torch.Generator().manual_seed(0)
    for _ in range(20):
        out = shift(image, rng)
        (row, col), = (out[0, 0] == 1.0).nonzero().tolist()
        assert abs(row - 14) <= 2 and abs(col - 14) <= 2 and (out == -1).sum() == 28 * 28 - 1


def test_jpeg_keeps_a_flat_image_flat():
    flat = torch.full((4, 1, 28, 28), 0.2)
    out = jpeg(flat, torch.Generator().manual_seed(0))
    torch.testing.assert_close(out, flat, atol=2 / 127.5, rtol=0)


def test_augment_returns_images_on_the_uint8_grid():
    images = torch.rand(64, 1, 28, 28) * 2 - 1
    out = augment(images, torch.Generator().manual_seed(0))
    levels = (out + 1) * 127.5
    torch.testing.assert_close(levels, levels.round())
    assert all(0 < fraction < 1 for _, fraction in AUGMENTATIONS)


def test_the_cnn_sees_the_darkest_grey_levels_magnified():
    """Levels 0 and 1 differ by 2/255 on the raw channel and by half the range on the dark one."""
    cnn = FingerprintCNN(width=4).eval()
    seen = []
    cnn.features.register_forward_hook(lambda module, inputs, output: seen.append(inputs[0]))
    levels = torch.tensor([0.0, 1.0, 4.0, 200.0]).repeat_interleave(196).reshape(1, 1, 28, 28)
    cnn(levels / 127.5 - 1)
    image, dark = seen[0][0]
    torch.testing.assert_close(image, levels[0, 0] / 127.5 - 1)
    torch.testing.assert_close(dark[::7, 0], torch.tensor([-1.0, -0.5, 1.0, 1.0]))


@pytest.mark.parametrize("dark_channel", [True, False])
def test_the_cnn_gives_one_logit_per_image_with_or_without_the_dark_channel(dark_channel):
    cnn = FingerprintCNN(width=4, dark_channel=dark_channel).eval()
    assert cnn(torch.rand(3, 1, 28, 28) * 2 - 1).shape == (3,)
