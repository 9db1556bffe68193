"""The models that ship in models/: the detector by default, the GAN's discriminator on request."""
import json
import re
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from detector import load_detector

REPO = Path(__file__).resolve().parents[2]
EXAMPLES = sorted((REPO / "examples").glob("*.png"))


def test_default_model_is_the_shipped_detector():
    detector = load_detector()
    assert detector.model.path == REPO / "models" / "detector.onnx"
    assert detector.info.kind == "detector"
    assert 0 < float(detector.info.extra["target_fpr"]) <= 0.02
    assert load_detector("discriminator").info.kind == "discriminator"


@pytest.mark.parametrize("argv, kind", [((), "detector"), (("--model", "discriminator"), "discriminator")])
def test_cli_runs_the_model_asked_for(cli, argv, kind):
    model = load_detector(None if not argv else argv[1])
    assert model.info.kind == kind
    code, out, err = cli(*argv, *EXAMPLES)
    assert code == 0, err
    rows = [json.loads(line) for line in out.splitlines()]
    expected = [p.as_dict() for p in model.detect_many(EXAMPLES)]
    assert [{k: r[k] for k in ("label", "confidence")} for r in rows] == expected


def test_detector_and_discriminator_disagree_on_the_examples():
    """Two different models, not one file under two names."""
    pixels = np.stack([np.asarray(Image.open(p)) for p in EXAMPLES])
    detector = [p.logit for p in load_detector().detect_arrays(pixels)]
    discriminator = [p.logit for p in load_detector("discriminator").detect_arrays(pixels)]
    assert not np.allclose(detector, discriminator, atol=1e-3)


def test_readme_first_command_prints_what_the_readme_says(cli):
    readme = (REPO / "README.md").read_text()
    command = re.search(r"\.venv-run/bin/python -m detector (\S+)", readme).group(1)
    promised = re.search(r"It prints `(\{.*?\})`", readme).group(1)
    code, out, _ = cli(REPO / command)
    assert code == 0 and json.loads(out) == json.loads(promised)
