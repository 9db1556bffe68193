"""Networks that take the image shape: DCGAN's for 3×32×32 and 3×64×64 photographs, and the
28×28 networks unchanged (same parameters from the same seed)."""
import pytest
import torch

from train.data import image_shape
from train.errors import DataError, TrainError
from train.gan.config import TrainConfig
from train.gan.networks import (build_networks, DCGANDiscriminator, DCGANGenerator, Discriminator, Generator,
                                make_generator)


@pytest.mark.parametrize("channels, size", [(3, 64), (3, 32), (1, 64), (3, 16)])
@pytest.mark.parametrize("classes", [1, 5])
def test_dcgan_networks_take_the_image_shape(channels, size, classes):
    torch.manual_seed(0)
    g, d = build_networks(16, 8, classes, False, image_shape=(channels, size))
    assert isinstance(g, DCGANGenerator) and isinstance(d, DCGANDiscriminator)
    images = g(torch.randn(4, 16), torch.arange(4) % classes)
    assert images.shape == (4, channels, size, size) and images.abs().max() <= 1
    real_logit, class_logits = d(images)
    assert real_logit.shape == (4,) and class_logits.shape == (4, classes)


def test_dcgan_64_has_dcgan_channel_widths():
    g = DCGANGenerator(100, 1, 64)
    assert [m.out_channels for m in [g.project, *g.ups]] == [512, 256, 128, 64, 3]
    d = DCGANDiscriminator(1, 64)
    assert [m.out_channels for m in d.features if isinstance(m, torch.nn.Conv2d)] == [64, 128, 256, 512]


def test_28x28_networks_unchanged():
    torch.manual_seed(3)
    g, d = build_networks(8, 4, 10)
    torch.manual_seed(3)
    g2, d2 = build_networks(8, 4, 10, image_shape=(1, 28))
    assert type(g) is Generator and type(d) is Discriminator
    for a, b in ((g, g2), (d, d2)):
        assert all(torch.equal(x, y) for x, y in zip(a.state_dict().values(), b.state_dict().values()))


@pytest.mark.parametrize("name", ["upsample", "mlp"])
def test_other_generators_only_at_28(name):
    with pytest.raises(TrainError, match=f"--generator {name} exists only for 28×28"):
        make_generator(name, 8, 1, 4, (3, 64))


@pytest.mark.parametrize("size", [24, 48])
def test_sizes_that_are_not_powers_of_two_are_refused(size):
    with pytest.raises(TrainError, match=f"image size {size}"):
        DCGANGenerator(8, 1, 4, 3, size)


@pytest.mark.parametrize("values, expected", [
    ({}, (1, 28)), ({"dataset": "mnist"}, (1, 28)), ({"image_size": 28}, (1, 28)),
    ({"dataset": "dogs"}, (3, 64)), ({"dataset": "dogs", "image_size": 32}, (3, 32)),
    ({"dataset": "folder", "image_size": 64}, (3, 64)),
])
def test_image_shape_follows_the_dataset(values, expected):
    assert image_shape(TrainConfig(**values)) == expected


def test_grey_sets_refuse_other_sizes():
    with pytest.raises(DataError, match="--image-size 64: --dataset fashion-mnist has only 28×28"):
        image_shape(TrainConfig(image_size=64))
