import numpy as np
import onnxruntime as ort
import pytest
import torch
from torch import nn

from train.gan.networks import (build_networks, ConditionalBatchNorm, Discriminator, Generator, GENERATORS,
    RealLogit)
from train.run.onnx_file import to_onnx


def seeded_networks(latent_dim=8, width=8, num_classes=10, seed=0):
    torch.manual_seed(seed)
    return build_networks(latent_dim, width, num_classes)


@pytest.mark.parametrize("batch", [1, 3, 16])
@pytest.mark.parametrize("width, latent_dim", [(4, 8), (8, 16)])
def test_generator_output_shape(batch, width, latent_dim):
    generator, _ = seeded_networks(latent_dim, width)
    images = generator(torch.randn(batch, latent_dim), torch.arange(batch) % 10)
    assert images.shape == (batch, 1, 28, 28)


@pytest.mark.parametrize("batch", [1, 3, 16])
@pytest.mark.parametrize("num_classes", [10, 4])
def test_discriminator_and_real_logit_shapes(batch, num_classes):
    _, discriminator = seeded_networks(num_classes=num_classes)
    images = torch.rand(batch, 1, 28, 28) * 2 - 1
    real_logit, class_logits = discriminator(images)
    assert real_logit.shape == (batch,)
    assert class_logits.shape == (batch, num_classes)
    assert torch.equal(RealLogit(discriminator)(images), real_logit)


def test_generator_output_stays_in_model_range_even_when_saturated():
    generator, _ = seeded_networks()
    with torch.no_grad():
        generator.up2.weight.mul_(1000)  # push the last layer deep into tanh's flat ends
    images = generator(torch.randn(32, 8), torch.arange(32) % 10)
    assert images.min() >= -1 and images.max() <= 1
    assert (images.abs() > 0.999).float().mean() > 0.5


def test_generator_follows_its_label():
    generator, _ = seeded_networks()
    with torch.no_grad():
        generator.norm2.shift.weight[3].fill_(5.0)  # class 3 only: shift before the last layer
    noise = torch.randn(1, 8).repeat(4, 1)
    images = generator.eval()(noise, torch.tensor([0, 0, 3, 3]))
    assert torch.equal(images[0], images[1]) and torch.equal(images[2], images[3])
    assert not torch.allclose(images[0], images[2])


def test_conditional_batch_norm_uses_the_labels_scale_and_shift():
    norm = ConditionalBatchNorm(num_features=2, num_classes=3)
    with torch.no_grad():
        norm.scale.weight.copy_(torch.tensor([[1.0, 1.0], [2.0, 3.0], [0.5, 0.5]]))
        norm.shift.weight.copy_(torch.tensor([[0.0, 0.0], [10.0, -10.0], [1.0, 1.0]]))
    x, labels = torch.randn(4, 2, 5, 5), torch.tensor([0, 1, 2, 1])
    plain = nn.functional.batch_norm(x, None, None, training=True)
    scale = torch.tensor([[1.0, 1.0], [2.0, 3.0], [0.5, 0.5], [2.0, 3.0]]).view(4, 2, 1, 1)
    shift = torch.tensor([[0.0, 0.0], [10.0, -10.0], [1.0, 1.0], [10.0, -10.0]]).view(4, 2, 1, 1)
    torch.testing.assert_close(norm(x, labels), plain * scale + shift)


def test_conditional_batch_norm_starts_as_plain_batch_norm():
    norm = ConditionalBatchNorm(num_features=3, num_classes=10, dims=1)
    x = torch.randn(8, 3)
    torch.testing.assert_close(norm(x, torch.arange(8)), nn.functional.batch_norm(x, None, None, training=True))


def test_build_networks_is_seeded_and_uses_dcgan_init():
    (g1, d1), (g2, d2) = seeded_networks(seed=5), seeded_networks(seed=5)
    for a, b in ((g1, g2), (d1, d2)):
        for (name, p), q in zip(a.state_dict().items(), b.state_dict().values()):
            assert torch.equal(p, q), name
    assert g1.project.weight.std().item() == pytest.approx(0.02, rel=0.1)
    assert d1.features[3].weight.std().item() == pytest.approx(0.02, rel=0.1)
    assert d1.real_head.bias.abs().sum() == 0 and g1.up2.bias.abs().sum() == 0
    assert not torch.equal(seeded_networks(seed=6)[0].project.weight, g1.project.weight)


def test_networks_record_their_sizes():
    generator = Generator(latent_dim=12, num_classes=7, width=4)
    assert (generator.latent_dim, generator.num_classes) == (12, 7)
    assert Discriminator(num_classes=7, width=4).class_head.out_features == 7


@pytest.mark.parametrize("kind", sorted(GENERATORS))
@pytest.mark.parametrize("unconditional", [False, True])
def test_every_generator_kind_draws_model_range_images_per_label(kind, unconditional):
    torch.manual_seed(0)
    generator, _ = build_networks(8, 8, 10, unconditional, generator=kind)
    assert isinstance(generator, GENERATORS[kind])
    labels = torch.zeros(6, dtype=torch.long) if unconditional else torch.arange(6)
    images = generator(torch.randn(6, 8), labels)
    assert images.shape == (6, 1, 28, 28)
    assert images.min() >= -1 and images.max() <= 1


def test_generator_kinds_differ_in_their_layers():
    kinds = {kind: build_networks(8, 8, generator=kind)[0] for kind in GENERATORS}
    has = {kind: {type(m) for m in g.modules()} for kind, g in kinds.items()}
    assert nn.ConvTranspose2d in has["convtranspose"] and nn.ConvTranspose2d not in has["upsample"]
    assert nn.Upsample in has["upsample"]
    assert not {nn.Conv2d, nn.ConvTranspose2d} & has["mlp"]
    assert nn.Upsample in has["bilinear"] and nn.ConvTranspose2d not in has["bilinear"]
    assert nn.PixelShuffle in has["pixelshuffle"] and not {nn.Upsample, nn.ConvTranspose2d} & has["pixelshuffle"]


@pytest.mark.parametrize("kind, mode", [("upsample", "nearest"), ("bilinear", "bilinear")])
def test_upsampling_generators_interpolate_as_named(kind, mode):
    """The first upsampling of a one-pixel impulse: nearest copies it into a 2x2 block of equal
    values, bilinear spreads it into a 4x4 patch of unequal ones (the fingerprints differ)."""
    upsample = build_networks(8, 8, generator=kind)[0].up1[0]
    assert upsample.mode == mode
    impulse = torch.zeros(1, 1, 7, 7)
    impulse[0, 0, 3, 3] = 1.0
    out = upsample(impulse)[0, 0]                                  # [14, 14]
    assert out.shape == (14, 14)
    touched = out[out > 0]
    assert (len(touched), len(set(touched.tolist()))) == ((4, 1) if kind == "upsample" else (16, 3))


@pytest.mark.parametrize("batch", [1, 5])
def test_pixelshuffle_generator_fills_each_2x2_block_from_four_channels(batch):
    """The last sub-pixel conv's 4 output channels become the 4 positions of every 2x2 block."""
    generator = build_networks(8, 8, generator="pixelshuffle")[0]
    conv, shuffle = generator.up2
    assert (conv.out_channels, shuffle.upscale_factor) == (4, 2)
    channels = torch.arange(4.0).view(1, 4, 1, 1).expand(batch, 4, 14, 14)
    out = shuffle(channels)                                        # [batch, 1, 28, 28]
    assert out.shape == (batch, 1, 28, 28)
    assert out[0, 0, :2, :2].tolist() == [[0.0, 1.0], [2.0, 3.0]]
    assert torch.equal(out[:, :, 2:4, 6:8], out[:, :, :2, :2])


@pytest.mark.parametrize("kind", sorted(GENERATORS))
def test_every_generator_kind_exports_to_onnx_with_a_dynamic_batch(kind, tmp_path):
    """ONNX-exportable with the project's exporter; onnxruntime matches PyTorch at batch sizes
    other than the traced one (python -m export relies on both)."""
    torch.manual_seed(0)
    generator = build_networks(8, 8, 10, generator=kind)[0].eval()
    path = tmp_path / f"{kind}.onnx"
    to_onnx(generator, (torch.randn(2, 8), torch.arange(2)), ["noise", "labels"], "image", path, {})
    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    for batch in (1, 7):
        noise, labels = torch.randn(batch, 8), torch.arange(batch) % 10
        (images,) = session.run(None, {"noise": noise.numpy(), "labels": labels.numpy()})
        with torch.no_grad():
            expected = generator(noise, labels).numpy()
        assert images.shape == (batch, 1, 28, 28)
        np.testing.assert_allclose(images, expected, atol=1e-5)
