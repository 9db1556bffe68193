"""The fast domain FID logged during training: a cheap progress measure between evaluations.

Every `--domain-fid-every` epochs the trainer asks `DomainFID.measure` for the FID, in the
feature space of the project's FashionMNIST classifier (models/fmnist_classifier.pt), of
`--domain-fid-samples` generated images (balanced classes, fixed noise seed) against the 10,000
test images, and appends it to metrics.jsonl as its own row:

    {"step": 2340, "epoch": 5, "domain_fid": 3.21, "domain_fid_samples": 2000, "domain_fid_seconds": 2.1}

The measurement draws its noise from its own seeded generator and runs the generator in eval
mode, so it changes neither the weights, the BatchNorm statistics nor the training RNG: a run
with the monitor trains exactly as one without. Because it depends only on the generator's
weights at the end of the epoch, `python -m train.domain_fid` recomputes the same numbers from
a finished run's checkpoints/epoch_NNN.pt.
"""
import time
from pathlib import Path
from typing import Optional

import torch
from tqdm import tqdm

from train.data import has_classifier_metrics, load_fashion_mnist
from train.gan.config import TrainConfig
from train.gan.networks import Generator
from train.gan.sampling import balanced_labels, sample_images
from train.metrics.classifier import classifier_features, load_classifier
from train.metrics.fid import frechet_distance, statistics

NOISE_SEED = 20240  # fixed: every measurement of a run sees the same noise and labels


class DomainFID:
    """Classifier-feature FID of a generator against the test split; test statistics cached."""

    def __init__(self, classifier_path: Path, data_dir: Optional[Path], samples: int):
        self.classifier, _ = load_classifier(classifier_path)
        self.data_dir, self.samples = data_dir, samples
        self._real = None  # (mu, sigma) of the test images, computed on first use

    @classmethod
    def for_config(cls, config: TrainConfig) -> Optional["DomainFID"]:
        """The monitor the config asks for, or None (disabled, or no classifier: one note)."""
        if config.domain_fid_every <= 0 or config.domain_fid_samples < 2:
            return None
        if not has_classifier_metrics(config):
            tqdm.write(f"note: no domain FID for --dataset {config.dataset}: it needs the "
                       "FashionMNIST classifier and test split")
            return None
        path = Path(config.domain_fid_classifier)
        if not path.is_file():
            tqdm.write(f"note: no classifier at {path}, so no domain FID in metrics.jsonl "
                       "(train one with python -m train.classifier)")
            return None
        return cls(path, config.data_dir, config.domain_fid_samples)

    def real_statistics(self):
        if self._real is None:
            test = load_fashion_mnist("test", self.data_dir)
            self._real = statistics(classifier_features(self.classifier, test.images.numpy()))
        return self._real

    def measure(self, generator: Generator, device: torch.device) -> dict:
        """{"domain_fid", "domain_fid_samples", "domain_fid_seconds"} of the generator now."""
        started = time.perf_counter()
        was_training = generator.training
        generator.eval()  # BatchNorm running statistics; train mode would update them
        try:
            labels = balanced_labels(self.samples, generator.num_classes)
            fake = sample_images(generator, labels, NOISE_SEED, device)
        finally:
            generator.train(was_training)
        fid = frechet_distance(*self.real_statistics(),
                               *statistics(classifier_features(self.classifier, fake)))
        return {"domain_fid": fid, "domain_fid_samples": self.samples,
                "domain_fid_seconds": time.perf_counter() - started}


def is_due(config: TrainConfig, epoch_done: int, last: bool = False) -> bool:
    """True at the end of every `domain_fid_every`-th completed epoch (epoch_done 0: none), and
    at the end of the run (`last`), so every run ends with a domain FID."""
    if config.domain_fid_every <= 0:
        return False
    return last or (epoch_done > 0 and epoch_done % config.domain_fid_every == 0)

