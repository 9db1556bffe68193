"""The commands find the shipped classifier next to the package, from any working directory."""
from pathlib import Path

import pytest
from argparse_dataclass import ArgumentParser

from detector.model import MODELS_DIR
from train.classifier import ClassifierConfig
from train.detection import evaluate as detection_evaluate
from train.domain_fid import DomainFIDConfig
from train.evaluate import EvaluateConfig
from train.gan.config import TrainConfig
from train.metrics.classifier import DEFAULT_CLASSIFIER

REPO = Path(__file__).resolve().parents[2]
SHIPPED = REPO / "models" / "fmnist_classifier.pt"


def test_the_default_classifier_is_the_repository_file():
    assert DEFAULT_CLASSIFIER == MODELS_DIR / "fmnist_classifier.pt" == SHIPPED
    assert SHIPPED.is_file()


@pytest.mark.parametrize("config_class, read", [
    (TrainConfig, lambda c: c.domain_fid_classifier),   # python -m train's domain FID monitor
    (EvaluateConfig, lambda c: c.classifier_path()),    # python -m train.evaluate
    (DomainFIDConfig, lambda c: c.classifier),          # python -m train.domain_fid
    (ClassifierConfig, lambda c: c.out),                # python -m train.classifier writes it
], ids=["train", "evaluate", "domain_fid", "classifier"])
def test_a_commands_default_classifier_is_found_from_another_directory(config_class, read, tmp_path,
                                                                        monkeypatch):
    monkeypatch.chdir(tmp_path)
    path = Path(read(ArgumentParser(config_class).parse_args([])))
    assert path.is_absolute() and path.resolve() == SHIPPED.resolve() and path.is_file()


def test_detector_evaluation_reads_the_shipped_models_folder():
    assert detection_evaluate.MODELS == MODELS_DIR == REPO / "models"
