"""The dedicated detector: a fingerprint CNN and a model of real images, in one module.

Both parts see the image alone (model range [-1, 1], as the discriminator) and give a real_logit:
- `FingerprintCNN` learns what generated images of many GANs share (trained on the zoo);
- `RealDensity` knows only real FashionMNIST: the PCA reconstruction error of the image and
  its likelihood under per-class Gaussians in PCA space. It needs no generated image to fit,
  so it cannot overfit to one generator's fingerprints; a two-feature logistic regression
  (fitted on zoo images) turns its two numbers into a logit.
`DetectorNet` weighs the two logits by a logistic regression fitted on held-out images (which
also calibrates them), then applies the threshold shift chosen on held-out real images.
"""
import numpy as np
import torch
from torch import nn


class FingerprintCNN(nn.Module):
    """image [N, 1, 28, 28] -> real_logit [N]; global average pooling so that where an
    artefact sits does not matter, and about half the discriminator's multiply-adds."""

    def __init__(self, width: int = 16):
        super().__init__()
        self.features = nn.Sequential(
            nn.PixelUnshuffle(2),                           # [N, 4, 14, 14]
            nn.Conv2d(4, width, 3, 1, 1),                   # [N, w, 14, 14]
            nn.LeakyReLU(0.2),
            nn.Conv2d(width, 2 * width, 4, 2, 1),           # [N, 2w, 7, 7]
            nn.LeakyReLU(0.2),
            nn.Conv2d(2 * width, 2 * width, 3, 1, 1),       # [N, 2w, 7, 7]
            nn.LeakyReLU(0.2),
            nn.AdaptiveAvgPool2d(1), nn.Flatten(),          # [N, 2w]
        )
        self.head = nn.Linear(2 * width, 1)

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        return self.head(self.features(images)).squeeze(1)


class RealDensity(nn.Module):
    """image [N, 1, 28, 28] -> real_logit [N] from (log PCA residual, -log class-mixture density),
    all fitted on real images by `fit_real_density` and stored as buffers."""

    def __init__(self, components: int = 32, num_classes: int = 10):
        super().__init__()
        self.register_buffer("mean", torch.zeros(784))
        self.register_buffer("basis", torch.zeros(components, 784))          # PCA rows
        self.register_buffer("class_means", torch.zeros(num_classes, components))
        self.register_buffer("whiten", torch.zeros(num_classes, components, components))
        self.register_buffer("log_norm", torch.zeros(num_classes))           # log prior - log det / 2
        self.register_buffer("weights", torch.zeros(2))                      # logistic regression
        self.register_buffer("bias", torch.zeros(()))

    def scores(self, images: torch.Tensor) -> torch.Tensor:
        """[N, 2]: log mean squared PCA residual, and -log density (up to a constant)."""
        x = images.flatten(1) - self.mean                                    # [N, 784]
        coefficients = x @ self.basis.T                                      # [N, k]
        residual = (x - coefficients @ self.basis).pow(2).mean(1)            # [N]
        centred = coefficients[:, None, :] - self.class_means                # [N, C, k]
        z = torch.einsum("nck,cjk->ncj", centred, self.whiten)               # whitened per class
        log_density = torch.logsumexp(self.log_norm - 0.5 * z.pow(2).sum(2), dim=1)
        return torch.stack([torch.log(residual + 1e-6), -log_density], dim=1)

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        return self.scores(images) @ self.weights + self.bias


def fit_real_density(density: RealDensity, images: np.ndarray, labels: np.ndarray,
                     ridge: float = 1e-3) -> RealDensity:
    """Fill `density`'s buffers from real images (float [N, 784] in model range) and labels:
    PCA by eigendecomposition of the covariance, then a Gaussian per class on its coefficients."""
    x = np.asarray(images, dtype=np.float64).reshape(len(images), -1)
    mean = x.mean(0)
    eigenvalues, eigenvectors = np.linalg.eigh(np.cov(x - mean, rowvar=False))
    basis = eigenvectors[:, ::-1][:, : density.basis.shape[0]].T           # largest first
    coefficients = (x - mean) @ basis.T
    classes = density.class_means.shape[0]
    means, whiten, log_norm = [], [], []
    for c in range(classes):
        own = coefficients[labels == c]
        cov = np.cov(own, rowvar=False) + ridge * np.eye(basis.shape[0])
        chol = np.linalg.cholesky(np.linalg.inv(cov))                       # inv(cov) = L L^T
        means.append(own.mean(0))
        whiten.append(chol.T)                                               # |L^T d|^2 = d^T inv(cov) d
        log_norm.append(np.log(len(own) / len(x)) - 0.5 * np.linalg.slogdet(cov)[1])
    for name, value in (("mean", mean), ("basis", basis), ("class_means", np.stack(means)),
                        ("whiten", np.stack(whiten)), ("log_norm", np.array(log_norm))):
        getattr(density, name).copy_(torch.as_tensor(np.ascontiguousarray(value), dtype=torch.float32))
    return density


class DetectorNet(nn.Module):
    """image [N, 1, 28, 28] -> calibrated, thresholded real_logit [N] (what detector.onnx ships):
    P(real) = sigmoid(w_f * fingerprint + w_d * density + b - threshold). The weights are a
    logistic regression on held-out images (calibrate in fit.py): Platt scaling of both parts at
    once, each part weighted by how much it adds."""

    def __init__(self, fingerprint: FingerprintCNN, density: RealDensity):
        super().__init__()
        self.fingerprint = fingerprint
        self.density = density
        self.register_buffer("mix", torch.tensor([1.0, 0.0, 0.0]))  # w_f, w_d, b
        self.register_buffer("threshold", torch.zeros(()))

    def parts(self, images: torch.Tensor) -> torch.Tensor:
        """[N, 2]: the fingerprint CNN's and the real-image model's logits."""
        return torch.stack([self.fingerprint(images), self.density(images)], dim=1)

    def forward(self, image: torch.Tensor) -> torch.Tensor:  # `image`: the ONNX input's name
        return self.parts(image) @ self.mix[:2] + self.mix[2] - self.threshold
