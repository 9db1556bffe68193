"""`python -m train.classifier`: train the small FashionMNIST classifier behind the fast metrics.

    python -m train.classifier --out models/fmnist_classifier.pt     # ~1-2 min on a CPU
"""
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Optional


from train.command import run_command
from train.data import load_fashion_mnist
from train.metrics.classifier import DEFAULT_CLASSIFIER, predict, save_classifier, train_classifier


@dataclass
class ClassifierConfig:
    out: Path = field(default=DEFAULT_CLASSIFIER, metadata={
        "help": "where to save the classifier (default: the repository's models/, where the "
                "fast metrics look for it)"})
    data_dir: Optional[Path] = field(default=None, metadata={
        "help": "FashionMNIST folder (as in python -m train)"})
    epochs: int = field(default=2, metadata={"help": "passes over the training images"})
    batch_size: int = field(default=128, metadata={"help": "images per step"})
    lr: float = field(default=1e-3, metadata={"help": "Adam learning rate"})
    seed: int = field(default=0, metadata={"help": "seed of the weights and the batch order"})
    progress: bool = field(default=True, metadata={"help": "show tqdm progress bars"})


def train_and_save(config: ClassifierConfig) -> dict:
    """Train on the training split, measure on the test split, save; returns the info saved."""
    started = time.perf_counter()
    train_set = load_fashion_mnist("train", config.data_dir)
    test = load_fashion_mnist("test", config.data_dir)
    model = train_classifier(train_set, config.epochs, config.batch_size, config.lr, config.seed,
                             config.progress)
    correct = predict(model, test.images.numpy()) == test.labels.numpy()
    info = {"test_accuracy": float(correct.mean()), "n_test": len(test), "epochs": config.epochs,
            "seed": config.seed, "seconds": time.perf_counter() - started,
            "per_class_test_accuracy": [float(correct[test.labels.numpy() == c].mean())
                                        if (test.labels.numpy() == c).any() else None
                                        for c in range(len(test.class_names))]}
    save_classifier(model, config.out, train_set.class_names, info)
    return info


def main(argv=None) -> int:
    return run_command(
        ClassifierConfig, argv, module="train.classifier", action=train_and_save,
        description="Train the FashionMNIST classifier used by the fast metrics.",
        describe=lambda config, info: f"wrote {config.out}: test accuracy "
                                      f"{info['test_accuracy']:.4f} on {info['n_test']} images "
                                      f"({info['seconds']:.0f} s)")


if __name__ == "__main__":
    sys.exit(main())
