"""A small FashionMNIST classifier: the feature space of the fast domain FID, precision and
recall, and the judge of "does a generated class-3 image look like class 3?".

Two conv blocks and a 128-d hidden layer (~0.4M parameters); ~90% test accuracy after two
epochs, trained in a minute or two on a CPU by `python -m train.classifier`.
"""
from pathlib import Path
from typing import Sequence

import numpy as np
import torch
from torch import nn
from tqdm import tqdm

from detector.model import MODELS_DIR
from train.data import batched_outputs, ImageSet, to_model_range
from train.errors import EvaluationError
from train.run.atomic import save_torch_atomic

# The shipped classifier, next to the package (not in the working directory): the default of
# every command that reads or retrains it.
DEFAULT_CLASSIFIER = MODELS_DIR / "fmnist_classifier.pt"
FORMAT = "fmnist-classifier/1"
FEATURE_DIM = 128


class Classifier(nn.Module):
    """image [N, 1, 28, 28] in [-1, 1] -> class logits [N, classes]; `features` the 128-d layer."""

    def __init__(self, num_classes: int = 10):
        super().__init__()
        self.body = nn.Sequential(
            nn.Conv2d(1, 32, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),    # [N, 32, 14, 14]
            nn.Conv2d(32, 64, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),   # [N, 64, 7, 7]
            nn.Flatten(), nn.Linear(64 * 7 * 7, FEATURE_DIM), nn.ReLU())
        self.head = nn.Linear(FEATURE_DIM, num_classes)

    def features(self, images: torch.Tensor) -> torch.Tensor:
        return self.body(images)

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        return self.head(self.body(images))


def train_classifier(data: ImageSet, epochs: int = 2, batch_size: int = 128, lr: float = 1e-3,
                     seed: int = 0, progress: bool = False) -> Classifier:
    """Adam on cross-entropy over `data` (uint8 images, int64 labels), on the CPU."""
    torch.manual_seed(seed)
    model = Classifier(len(data.class_names)).train()
    optimizer = torch.optim.Adam(model.parameters(), lr)
    order_rng = torch.Generator().manual_seed(seed)
    for epoch in range(epochs):
        order = torch.randperm(len(data), generator=order_rng).split(batch_size)
        for index in tqdm(order, desc=f"classifier epoch {epoch + 1}/{epochs}", disable=not progress,
                          leave=False):
            loss = nn.functional.cross_entropy(model(to_model_range(data.images[index])),
                                               data.labels[index])
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
    return model.eval()


def classifier_features(model: Classifier, images: np.ndarray, batch_size: int = 1000) -> np.ndarray:
    """float64 [N, 128] features of uint8 images [N, 28, 28]."""
    return batched_outputs(model.eval().features, images, batch_size).astype(np.float64)


def predict(model: Classifier, images: np.ndarray, batch_size: int = 1000) -> np.ndarray:
    """int64 [N] predicted classes of uint8 images [N, 28, 28]."""
    return batched_outputs(model, images, batch_size).argmax(axis=1)


def save_classifier(model: Classifier, path: Path, class_names: Sequence[str], info: dict) -> None:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    save_torch_atomic({"format": FORMAT, "state_dict": model.state_dict(),
                       "class_names": list(class_names), "info": info}, path)


def load_classifier(path: Path) -> tuple[Classifier, dict]:
    """(model in eval mode, saved dict without the weights)."""
    path = Path(path)
    if not path.is_file():
        raise EvaluationError(f"no classifier at {path} (train one with python -m train.classifier)")
    try:
        saved = torch.load(path, map_location="cpu", weights_only=True)
        model = Classifier(len(saved["class_names"]))
        model.load_state_dict(saved["state_dict"])
    except Exception as e:  # corrupt file, other format, other shapes
        raise EvaluationError(f"cannot read classifier {path}: {e}") from e
    if saved.get("format") != FORMAT:
        raise EvaluationError(f"{path} is not a {FORMAT} file")
    return model.eval(), {k: v for k, v in saved.items() if k != "state_dict"}
