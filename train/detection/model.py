"""The dedicated detector's networks: a fingerprint CNN and the model of real images, combined.

Both parts see the image alone (model range [-1, 1], as the discriminator) and give a real_logit:
- `FingerprintCNN` learns what generated images of many GANs share (trained on the zoo);
- `RealStatistics` (real_model.py) knows only real FashionMNIST and flags whatever falls outside
  it (noise, speckle, blur, flat images), with no generated image to overfit to;
- `BrightestLevel` (zero_shot.py) checks what every FashionMNIST image has by construction (its
  brightest pixel at 254 or 255, or a JPEG copy's trace where it fell short), which a good
  generator's images mostly lack;
- `TopLevels` (top_levels.py) reads how the brightest levels sit in the images that do reach
  254: few pixels near a real image's peak, a saturated patch in a generator's.
`DetectorNet` calls an image real only when all four parts do: its logit is the smallest.
"""
import torch
from torch import nn

from train.data import grey_levels
from train.detection.real_model import RealStatistics
from train.detection.top_levels import TopLevels
from train.detection.zero_shot import BrightestLevel

PART_NAMES = ("fingerprint", "real_model", "zero_shot", "top_levels")  # DetectorNet.parts' order
DARK_LEVELS = 4  # grey levels 0..DARK_LEVELS fill the whole range of the CNN's second channel


class FingerprintCNN(nn.Module):
    """image [N, 1, 28, 28] -> real_logit [N]; global average pooling so that where an
    artefact sits does not matter, and about half the discriminator's multiply-adds.

    A second input channel magnifies the darkest grey levels (0..DARK_LEVELS to -1..1): real
    FashionMNIST backgrounds are exactly 0 and a generator's tanh output seldom is, but on the
    raw channel level 0 and level 1 differ by 0.008, which a conv barely sees. With it, the CNN
    catches most images of the shipped generator; without it, almost none (docs/detector.md)."""

    def __init__(self, width: int = 16, dark_channel: bool = True):
        super().__init__()
        self.dark_channel = dark_channel  # off only to measure what it adds (bench/fingerprint_cnn.py)
        self.features = nn.Sequential(
            nn.PixelUnshuffle(2),                           # [N, 8 (4 without the dark channel), 14, 14]
            nn.Conv2d(8 if dark_channel else 4, width, 3, 1, 1),  # [N, w, 14, 14]
            nn.LeakyReLU(0.2),
            nn.Conv2d(width, 2 * width, 4, 2, 1),           # [N, 2w, 7, 7]
            nn.LeakyReLU(0.2),
            nn.Conv2d(2 * width, 2 * width, 3, 1, 1),       # [N, 2w, 7, 7]
            nn.LeakyReLU(0.2),
            nn.AdaptiveAvgPool2d(1), nn.Flatten(),          # [N, 2w]
        )
        self.head = nn.Linear(2 * width, 1)

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        if self.dark_channel:
            dark = grey_levels(images).clamp(0, DARK_LEVELS) * (2 / DARK_LEVELS) - 1   # [N, 1, 28, 28]
            images = torch.cat([images, dark], 1)                                     # [N, 2, 28, 28]
        return self.head(self.features(images)).squeeze(1)


class DetectorNet(nn.Module):
    """image [N, 1, 28, 28] -> real_logit [N] (what detector.onnx ships):
    min(a * fingerprint + b - threshold, real_model, zero_shot, top_levels). (a, b) is Platt scaling
    of the CNN on held-out images, so its part is a calibrated log-odds; the minimum is an AND: real
    only when the CNN sees no fingerprint *and* the image looks like a real one *and* it has the
    brightest pixel every FashionMNIST image has *and* its top levels sit as a real image's, and
    the confidence is the least sure part's. Each part has its share of the false-positive budget:
    the real-image model its own cut, the zero-shot part none of the clean real images (its
    thresholds are set on JPEG copies), the top-levels part --top-levels-fpr, the CNN the threshold
    chosen on held-out real images for the rest (calibrate in fit.py)."""

    def __init__(self, fingerprint: FingerprintCNN, real_model: RealStatistics, zero_shot: BrightestLevel,
                 top_levels: TopLevels):
        super().__init__()
        self.fingerprint = fingerprint
        self.real_model = real_model
        self.zero_shot = zero_shot
        self.top_levels = top_levels
        self.register_buffer("platt", torch.tensor([1.0, 0.0]))  # a, b
        self.register_buffer("threshold", torch.zeros(()))

    def parts(self, images: torch.Tensor) -> torch.Tensor:
        """[N, 4]: the calibrated, thresholded fingerprint logit, then the other parts' (PART_NAMES)."""
        fingerprint = self.platt[0] * self.fingerprint(images) + self.platt[1] - self.threshold
        return torch.stack([fingerprint, self.real_model(images), self.zero_shot(images), self.top_levels(images)],
                           dim=1)

    def forward(self, image: torch.Tensor) -> torch.Tensor:  # `image`: the ONNX input's name
        return self.parts(image).amin(1)
