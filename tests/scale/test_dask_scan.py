"""python -m scale on a local Dask cluster of 2 worker processes: the same rows as python -m
detector for the same files, in the same order, a bad file in its own row, a damaged model
refused. Skipped without Dask (requirements-scale.txt), except under CI (CI=true), where .ci/run
installs it: there it fails instead."""
import io
import json
import os
import shutil
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

import detector.model
from detector import load_detector

try:
    from distributed import Client, LocalCluster
except ImportError:
    Client = None
IN_CI = os.environ.get("CI") == "true"
pytestmark = pytest.mark.skipif(Client is None and not IN_CI,
                                reason="no Dask: pip install -r requirements-scale.txt")
REPO = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def client():
    assert Client is not None, "CI must run the scale-out test: pip install -r requirements-scale.txt"
    with LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=":0") \
            as cluster, Client(cluster) as client:
        yield client


@pytest.fixture(scope="module")
def corpus(tmp_path_factory) -> Path:
    """The examples, 40 noise images in a subfolder, and a file that is not an image."""
    folder = tmp_path_factory.mktemp("corpus")
    for path in (REPO / "examples").glob("*.png"):
        shutil.copy(path, folder / path.name)
    rng = np.random.default_rng(0)
    (folder / "noise").mkdir()
    for i in range(40):
        Image.fromarray(rng.integers(0, 256, (28, 28), np.uint8)).save(folder / "noise" / f"{i:02d}.png")
    (folder / "broken.png").write_bytes(b"not an image")
    return folder


def test_rows_match_the_cli_in_order(client, corpus, capsys):
    from scale.__main__ import write_rows
    from detector.inputs import expand_inputs
    args = type("Args", (), {"model": None, "sha256": None, "resize": False, "chunk": 7})()
    entries = expand_inputs([str(corpus)], read_stdin=None)
    assert write_rows(client, entries, args) == 1  # the broken file failed
    rows = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    from detector.__main__ import main
    assert main([str(corpus)]) == 1
    cli_rows = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert rows == cli_rows and len(rows) == 51
    assert [r["path"] for r in rows if "error" in r] == [str(corpus / "broken.png")]


def test_each_worker_opens_the_model_once(client, corpus):
    from scale.dask_scan import scan
    paths = sorted(str(p) for p in (corpus / "noise").glob("*.png"))
    rows = list(scan(client, paths, chunk=4))
    expected = [p.as_dict() for p in load_detector().detect_many(paths)]
    assert [{k: r[k] for k in ("label", "confidence")} for r in rows] == expected
    opened = client.run(lambda: __import__("scale.dask_scan").dask_scan._detector.cache_info().misses)
    assert len(opened) == 2 and set(opened.values()) <= {0, 1}  # per worker: at most one session


def test_a_damaged_model_is_refused(client, corpus, tmp_path, monkeypatch):
    from scale.dask_scan import scan
    models = tmp_path / "models"
    models.mkdir()
    for name in ("detector.onnx", "manifest.json"):
        shutil.copy(REPO / "models" / name, models / name)
    data = bytearray((models / "detector.onnx").read_bytes())
    data[len(data) // 2] ^= 1
    (models / "detector.onnx").write_bytes(bytes(data))
    monkeypatch.setattr(detector.model, "MODELS_DIR", models)
    with pytest.raises(detector.ModelError, match="damaged or replaced"):
        list(scan(client, [str(corpus / "real_coat.png")], model=models / "detector.onnx"))


def test_the_command_line(corpus, capsys):
    from scale.__main__ import main
    assert main([str(corpus / "real_coat.png"), str(corpus / "noise" / "00.png"), "--workers", "2"]) == 0
    rows = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert rows[0] == {"path": str(corpus / "real_coat.png"), "label": "real", "confidence": 0.9706}
    assert len(rows) == 2
