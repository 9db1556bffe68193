"""The conditional GAN: an AC-GAN generator and discriminator for 28x28 grayscale images.

The discriminator has two heads on shared features: `real_logit` (is this image real?) which
needs no class label, and `class_logits` (which of the 10 classes is it?). The detector
ships the first head alone, so it answers from the image alone; the second head is what
makes the generator respect its class label (Odena et al. 2017, "AC-GAN").
Images are float in [-1, 1] (see data.to_model_range).

Other image shapes (3×64×64 or 3×32×32 photographs, --dataset dogs/folder) get DCGAN's networks
(Radford et al. 2016: `DCGANGenerator`, `DCGANDiscriminator`); make_generator and
make_discriminator pick by shape, and 1×28×28 keeps the networks above unchanged.
"""
import math

import torch
from torch import nn

from train.errors import TrainError

GREY_28 = (1, 28)  # (channels, size) of FashionMNIST, MNIST and npy sets


class ConditionalBatchNorm(nn.Module):
    """BatchNorm whose scale and shift are chosen by the class label (as in SNGAN/BigGAN).

    A design reason, not a measurement: conditioning the normalisation, rather than
    concatenating a label to the noise, lets the label act on every layer it normalises and
    keeps the noise the generator's only input vector.
    """

    def __init__(self, num_features: int, num_classes: int, dims: int = 2):
        super().__init__()
        self.norm = (nn.BatchNorm2d if dims == 2 else nn.BatchNorm1d)(num_features, affine=False)
        self.scale = nn.Embedding(num_classes, num_features)
        self.shift = nn.Embedding(num_classes, num_features)
        nn.init.ones_(self.scale.weight)
        nn.init.zeros_(self.shift.weight)

    def forward(self, x: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
        per_channel = (..., *([None] * (x.dim() - 2)))  # [N, C] -> [N, C, 1, 1]
        return self.norm(x) * self.scale(labels)[per_channel] + self.shift(labels)[per_channel]


class Generator(nn.Module):
    """(noise z [N, latent_dim], class y [N]) -> image [N, 1, 28, 28] in [-1, 1]."""

    def __init__(self, latent_dim: int = 64, num_classes: int = 10, width: int = 32):
        super().__init__()
        self.latent_dim = latent_dim
        self.num_classes = num_classes
        self.project = nn.Linear(latent_dim, 2 * width * 7 * 7, bias=False)
        self.unflatten = nn.Unflatten(1, (2 * width, 7, 7))
        self.norm1 = ConditionalBatchNorm(2 * width, num_classes)
        self.up1 = nn.ConvTranspose2d(2 * width, width, 4, 2, 1, bias=False)
        self.norm2 = ConditionalBatchNorm(width, num_classes)
        self.up2 = nn.ConvTranspose2d(width, 1, 4, 2, 1)

    def forward(self, noise: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
        h = self.unflatten(self.project(noise))                 # [N, 2w, 7, 7]
        h = self.up1(torch.relu(self.norm1(h, labels)))         # [N, w, 14, 14]
        return torch.tanh(self.up2(torch.relu(self.norm2(h, labels))))  # [N, 1, 28, 28]


class UpsampleGenerator(Generator):
    """Generator as above with nearest-neighbour upsampling then a 3x3 conv in place of each
    transposed conv: no checkerboard by construction (Odena et al. 2016), other fingerprints."""

    def __init__(self, latent_dim: int = 64, num_classes: int = 10, width: int = 32):
        super().__init__(latent_dim, num_classes, width)
        self.up1 = nn.Sequential(nn.Upsample(scale_factor=2), nn.Conv2d(2 * width, width, 3, 1, 1, bias=False))
        self.up2 = nn.Sequential(nn.Upsample(scale_factor=2), nn.Conv2d(width, 1, 3, 1, 1))


class BilinearGenerator(Generator):
    """Generator as above with bilinear upsampling then a 3x3 conv in place of each transposed
    conv. Its fingerprint differs from both others: no uneven overlap (transposed conv's
    checkerboard) and no 2x2 blocks of copied pixels (nearest's), but a fixed low-pass
    interpolation kernel before each conv, so its images lack high frequencies in a pattern of
    their own: softer edges and texture."""

    def __init__(self, latent_dim: int = 64, num_classes: int = 10, width: int = 32):
        super().__init__(latent_dim, num_classes, width)
        bilinear = dict(scale_factor=2, mode="bilinear", align_corners=False)
        self.up1 = nn.Sequential(nn.Upsample(**bilinear),                         # [N, 2w, 14, 14]
                                 nn.Conv2d(2 * width, width, 3, 1, 1, bias=False))  # [N, w, 14, 14]
        self.up2 = nn.Sequential(nn.Upsample(**bilinear),                         # [N, w, 28, 28]
                                 nn.Conv2d(width, 1, 3, 1, 1))                     # [N, 1, 28, 28]


class PixelShuffleGenerator(Generator):
    """Generator as above with sub-pixel convolutions (Shi et al. 2016) in place of the
    transposed convs: a 3x3 conv to 4x the channels, then nn.PixelShuffle(2) moves each group
    of 4 channels into a 2x2 block of pixels. Its fingerprint: each of the four positions of
    a 2x2 block has its own filter, so any mismatch between them is a period-2 pattern on the
    pixel grid (a checkerboard made differently from transposed conv's overlap: no ICNR init
    here, so it starts present and training must remove it)."""

    def __init__(self, latent_dim: int = 64, num_classes: int = 10, width: int = 32):
        super().__init__(latent_dim, num_classes, width)
        self.up1 = nn.Sequential(nn.Conv2d(2 * width, 4 * width, 3, 1, 1, bias=False),  # [N, 4w, 7, 7]
                                 nn.PixelShuffle(2))                                   # [N, w, 14, 14]
        self.up2 = nn.Sequential(nn.Conv2d(width, 4, 3, 1, 1),                         # [N, 4, 14, 14]
                                 nn.PixelShuffle(2))                                   # [N, 1, 28, 28]


class MLPGenerator(nn.Module):
    """A fully connected generator (as in Goodfellow et al. 2014): no convolution, so no
    spatial prior; its images are noisier, and a detector must catch those too."""

    def __init__(self, latent_dim: int = 64, num_classes: int = 10, width: int = 32):
        super().__init__()
        self.latent_dim = latent_dim
        self.num_classes = num_classes
        self.hidden1 = nn.Linear(latent_dim, 8 * width, bias=False)
        self.norm1 = ConditionalBatchNorm(8 * width, num_classes, dims=1)
        self.hidden2 = nn.Linear(8 * width, 16 * width, bias=False)
        self.norm2 = ConditionalBatchNorm(16 * width, num_classes, dims=1)
        self.out = nn.Linear(16 * width, 28 * 28)
        self.unflatten = nn.Unflatten(1, (1, 28, 28))

    def forward(self, noise: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
        h = torch.relu(self.norm1(self.hidden1(noise), labels))  # [N, 8w]
        h = torch.relu(self.norm2(self.hidden2(h), labels))      # [N, 16w]
        return torch.tanh(self.unflatten(self.out(h)))           # [N, 1, 28, 28]


# --generator: the generator architectures a run can train (the discriminator is always the same).
# They differ in how they upsample, which is where generators leave most of their fingerprints.
GENERATORS = {"convtranspose": Generator, "upsample": UpsampleGenerator, "bilinear": BilinearGenerator,
              "pixelshuffle": PixelShuffleGenerator, "mlp": MLPGenerator}


class Discriminator(nn.Module):
    """image [N, 1, 28, 28] -> (real_logit [N], class_logits [N, num_classes]).

    build_networks(spectral_norm=True) divides each of its weights by its largest singular
    value (Miyato et al. 2018): every layer is 1-Lipschitz, so D cannot sharpen its boundary
    faster than the generator can follow (the usual partner of the hinge loss).
    """

    def __init__(self, num_classes: int = 10, width: int = 32):
        super().__init__()
        self.features = nn.Sequential(
            # Space-to-depth then a 3x3 conv: a stride-2 first layer that is ~2x faster on
            # CPU than a 4x4 stride-2 conv over one channel, with a 6x6 receptive field.
            nn.PixelUnshuffle(2),                                       # [N, 4, 14, 14]
            nn.Conv2d(4, width, 3, 1, 1),                               # [N, w, 14, 14]
            nn.LeakyReLU(0.2, inplace=True),
            nn.Conv2d(width, 2 * width, 4, 2, 1),                       # [N, 2w, 7, 7]
            nn.LeakyReLU(0.2, inplace=True),
            nn.Flatten(),                                               # [N, 2w*49]
        )
        self.real_head = nn.Linear(2 * width * 7 * 7, 1)
        self.class_head = nn.Linear(2 * width * 7 * 7, num_classes)

    def forward(self, images: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        features = self.features(images)
        return self.real_head(features).squeeze(1), self.class_head(features)


class RealLogit(nn.Module):
    """The label-free detector: a discriminator's `real_logit` head only (what export ships)."""

    def __init__(self, discriminator: Discriminator):
        super().__init__()
        self.discriminator = discriminator

    def forward(self, image: torch.Tensor) -> torch.Tensor:
        return self.discriminator(image)[0]


class DCGANGenerator(nn.Module):
    """(noise z [N, latent_dim], class y [N]) -> image [N, C, S, S] in [-1, 1], S = 2^k >= 16:
    z as a 1×1 map, a 4×4 transposed conv to 4×4, then stride-2 4×4 transposed convs doubling
    the size and halving the channels (S = 64, width w: 8w×4×4 -> 4w×8×8 -> 2w×16×16 ->
    w×32×32 -> C×64×64), each after (class-conditional) BatchNorm and ReLU; tanh at the end."""

    def __init__(self, latent_dim: int = 100, num_classes: int = 1, width: int = 64,
                 channels: int = 3, size: int = 64):
        super().__init__()
        self.latent_dim, self.num_classes = latent_dim, num_classes
        widths = [width * 2 ** i for i in reversed(range(_stages(size)))]
        self.project = nn.ConvTranspose2d(latent_dim, widths[0], 4, 1, 0, bias=False)
        self.norms = nn.ModuleList(ConditionalBatchNorm(c, num_classes) for c in widths)
        self.ups = nn.ModuleList([nn.ConvTranspose2d(a, b, 4, 2, 1, bias=False)
                                  for a, b in zip(widths, widths[1:])]
                                 + [nn.ConvTranspose2d(widths[-1], channels, 4, 2, 1)])

    def forward(self, noise: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
        h = self.project(noise[:, :, None, None])               # [N, widths[0], 4, 4]
        for norm, up in zip(self.norms, self.ups):
            h = up(torch.relu(norm(h, labels)))                  # twice the size
        return torch.tanh(h)


class DCGANDiscriminator(Discriminator):
    """image [N, C, S, S] -> (real_logit [N], class_logits [N, num_classes]): stride-2 4×4
    convs with LeakyReLU(0.2) halving the size and doubling the channels down to 4×4 (S = 64:
    w, 2w, 4w, 8w), then the two linear heads. No BatchNorm, like Discriminator: each image is
    scored on its own. (Discriminator's forward; its layers are built here.)"""

    def __init__(self, num_classes: int = 1, width: int = 64, channels: int = 3, size: int = 64):
        nn.Module.__init__(self)
        layers, c_in = [], channels
        for i in range(_stages(size)):
            layers += [nn.Conv2d(c_in, width * 2 ** i, 4, 2, 1), nn.LeakyReLU(0.2, inplace=True)]
            c_in = width * 2 ** i
        self.features = nn.Sequential(*layers, nn.Flatten())         # [N, c_in * 16]
        self.real_head = nn.Linear(c_in * 16, 1)
        self.class_head = nn.Linear(c_in * 16, num_classes)


def _stages(size: int) -> int:
    """Stride-2 layers between 4×4 and size×size (64 -> 4); TrainError unless size = 2^k >= 16."""
    if size < 16 or 2 ** round(math.log2(size)) != size:
        raise TrainError(f"image size {size}: the DCGAN networks need a power of 2 of at least 16")
    return round(math.log2(size)) - 2


def make_generator(name: str, latent_dim: int, num_classes: int, width: int,
                   image_shape=GREY_28) -> nn.Module:
    """An uninitialised generator: GENERATORS[name] for 1×28×28, DCGANGenerator otherwise
    (only --generator convtranspose exists at other shapes)."""
    channels, size = image_shape
    if (channels, size) == GREY_28:
        return GENERATORS[name](latent_dim, num_classes, width)
    if name != "convtranspose":
        raise TrainError(f"--generator {name} exists only for 28×28 grey images; "
                         f"{channels}×{size}×{size} images use convtranspose (DCGAN)")
    return DCGANGenerator(latent_dim, num_classes, width, channels, size)


def make_discriminator(num_classes: int, width: int, image_shape=GREY_28) -> Discriminator:
    """An uninitialised discriminator for images of (channels, size)."""
    if tuple(image_shape) == GREY_28:
        return Discriminator(num_classes, width)
    return DCGANDiscriminator(num_classes, width, *image_shape)


def weighted_layers(network: nn.Module) -> list[nn.Module]:
    """The convolutions and linear layers of `network`: what initialisation and spectral norm touch."""
    return [m for m in network.modules() if isinstance(m, (nn.Conv2d, nn.ConvTranspose2d, nn.Linear))]


def without_spectral_norm(network: nn.Module) -> nn.Module:
    """`network` with each spectral-norm parametrization folded into a plain weight (W / sigma
    from the stored power-iteration vectors: the same outputs as in eval mode). For inference
    and ONNX export, whose exporters fail on the power iteration's vdot."""
    for layer in weighted_layers(network):
        if nn.utils.parametrize.is_parametrized(layer, "weight"):
            nn.utils.parametrize.remove_parametrizations(layer, "weight", leave_parametrized=True)
    return network


def model_classes(num_classes: int, unconditional: bool = False) -> int:
    """How many classes the networks are built for: the dataset's, or 1 with --unconditional.

    An unconditional run is the same two networks built for a single class, every label 0:
    the generator's ConditionalBatchNorm then has one scale and shift, i.e. it is a plain
    (affine) BatchNorm and the noise is its only input; the discriminator's class head has a
    single logit, whose softmax cross-entropy is identically 0 with no gradient, so the AC-GAN
    class term drops out exactly (class_weight has no effect) without a branch in the losses.
    """
    return 1 if unconditional else num_classes


def dcgan_init(network: nn.Module) -> nn.Module:
    """DCGAN's initialisation, from torch's global seed: weights N(0, 0.02), biases 0."""
    for module in weighted_layers(network):
        nn.init.normal_(module.weight, 0.0, 0.02)
        if module.bias is not None:
            nn.init.zeros_(module.bias)
    return network


def build_generator(name: str, latent_dim: int, num_classes: int, width: int) -> nn.Module:
    """The generator architecture GENERATORS[name], DCGAN-initialised from torch's global seed."""
    return dcgan_init(GENERATORS[name](latent_dim, num_classes, width))


def build_networks(latent_dim: int, width: int, num_classes: int = 10, unconditional: bool = False,
                   generator: str = "convtranspose",
                   spectral_norm: bool = False, image_shape=GREY_28) -> tuple[nn.Module, Discriminator]:
    """Both networks with DCGAN's N(0, 0.02) initialisation, seeded by the caller; with
    unconditional=True built for one class (see model_classes); `generator` names one of
    GENERATORS; spectral_norm normalises the discriminator's weights; image_shape is
    (channels, size) of the images (make_generator, make_discriminator)."""
    num_classes = model_classes(num_classes, unconditional)
    # Both built before either is initialised: the order of draws from the seed that every
    # run so far was made with.
    generator = make_generator(generator, latent_dim, num_classes, width, image_shape)
    discriminator = make_discriminator(num_classes, width, image_shape)
    dcgan_init(generator)
    dcgan_init(discriminator)
    if spectral_norm:  # after the init: the parametrization starts its power iteration from it
        with_spectral_norm(discriminator)
    return generator, discriminator


def with_spectral_norm(network: nn.Module) -> nn.Module:
    """`network` with each weighted layer's weight spectrally normalised (a parametrization:
    the state dict then holds weight.original and the power-iteration vectors)."""
    for layer in weighted_layers(network):
        nn.utils.parametrizations.spectral_norm(layer)
    return network
