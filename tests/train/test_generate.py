"""python -m train.generate on the tiny run: files, balanced classes, --class, reproducibility."""
import numpy as np
import pytest

from train.data import CLASS_NAMES
from train.errors import TrainError
from train.gan.sampling import balanced_labels, class_index
from train.generate import file_name, generate_run, GenerateConfig, main


def test_balanced_labels_spread_the_remainder_over_the_first_classes():
    assert balanced_labels(12, 5).tolist() == [0, 0, 0, 1, 1, 1, 2, 2, 3, 3, 4, 4]
    assert np.bincount(balanced_labels(1000, 10)).tolist() == [100] * 10


@pytest.mark.parametrize("spec, index", [("3", 3), (7, 7), ("Sneaker", 7), ("ankle boot", 9),
                                         ("T-shirt/top", 0), ("AnkleBoot", 9)])
def test_class_by_index_or_name(spec, index):
    assert class_index(spec, CLASS_NAMES) == index


@pytest.mark.parametrize("spec", ["10", "-1", "Sneakers"])
def test_unknown_class_is_an_error(spec):
    with pytest.raises(TrainError):
        class_index(spec, CLASS_NAMES)


def test_file_names_are_safe():
    assert file_name(7, "T-shirt/top") == "00007_T-shirt-top.png"
    assert file_name(12, "Ankle boot") == "00012_Ankle-boot.png"


def test_writes_n_pngs_and_an_npz_with_balanced_classes(tiny_run, tmp_path):
    out = tmp_path / "gen"
    summary = generate_run(GenerateConfig(run_dir=tiny_run, out=out, n=23, device="cpu",
                                          progress=False))
    pngs = sorted(out.glob("*.png"))
    assert len(pngs) == 23 and pngs[0].name == "00000_T-shirt-top.png"
    with np.load(out / "images.npz") as saved:
        images, labels = saved["images"], saved["labels"]
    assert images.shape == (23, 28, 28) and images.dtype == np.uint8 and labels.dtype == np.int64
    assert np.bincount(labels).tolist() == [3, 3, 3, 2, 2, 2, 2, 2, 2, 2]
    assert summary["per_class"]["T-shirt/top"] == 3


def test_class_by_name_and_same_seed_same_images(tiny_run, tmp_path):
    for name in ("a", "b"):
        assert main(["--run-dir", str(tiny_run), "--out", str(tmp_path / name), "--n", "6",
                     "--class", "Sneaker", "--seed", "5", "--device", "cpu", "--no-progress"]) == 0
    a, b = np.load(tmp_path / "a" / "images.npz"), np.load(tmp_path / "b" / "images.npz")
    assert (a["labels"] == 7).all()
    np.testing.assert_array_equal(a["images"], b["images"])
    assert all(p.name.endswith("_Sneaker.png") for p in (tmp_path / "a").glob("*.png"))


def test_missing_run_is_a_clean_error(tmp_path, capsys):
    assert main(["--run-dir", str(tmp_path / "none"), "--out", str(tmp_path / "o"), "--n", "2"]) == 1
    assert capsys.readouterr().err.startswith("generate: no checkpoint at")
