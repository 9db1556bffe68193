"""The sanity battery's sets are what their names say, repeat with their seed, and are judged right;
and it reaches --evaluate's results and `python -m train.detector --sanity`."""
import json

import numpy as np
import pytest
from PIL import Image

from detector.images import load_pixels
from train.detection.sanity import (ADDED_NOISE_SD, BATTERY, GENERATED, make_battery, make_set, passed, REAL,
                                    run_battery, score_set, SHIFTS, SPECKLE_FRACTION)
from train.detection.config import DetectorConfig
from train.detection.evaluate import sanity
from train.detection.report import sanity_table
from train.detector import main
from train.errors import EvaluationError

N = 40
RANDOM_SETS = {"uniform_noise", "gaussian_noise", "flat_grey", "half_noise", "real_noise", "real_speckle",
               "real_shifted"}


def clothing_like(n=N, seed=0) -> np.ndarray:
    """Stand-ins for real images (the tests need no dataset): a smoothly shaded bright ellipse of
    random size and place on a black background, as FashionMNIST's items are."""
    rng = np.random.default_rng(seed)
    y, x = np.mgrid[0:28, 0:28]
    images = np.zeros((n, 28, 28), dtype=np.uint8)
    for i in range(n):
        cy, cx, ry, rx = rng.uniform(11, 17), rng.uniform(11, 17), rng.uniform(6, 12), rng.uniform(5, 10)
        inside = ((y - cy) / ry) ** 2 + ((x - cx) / rx) ** 2 <= 1
        images[i][inside] = (120 + 100 * (y[inside] / 27.0)).astype(np.uint8)
    return images


def neighbour_correlation(images: np.ndarray) -> float:
    """Correlation of horizontally adjacent pixels: near 1 in images of things, near 0 in noise."""
    left, right = images[:, :, :-1].ravel().astype(float), images[:, :, 1:].ravel().astype(float)
    return float(np.corrcoef(left, right)[0, 1])


@pytest.fixture(scope="module")
def real():
    return clothing_like()


def test_battery_expects_what_issue_12_asks():
    expected = {name: s.expected for name, s in BATTERY.items()}
    assert {n for n, e in expected.items() if e == GENERATED} == {"uniform_noise", "gaussian_noise", "flat_grey",
                                                                   "half_noise"}
    assert {n for n, e in expected.items() if e == REAL} == {"real", "real_png"}
    assert {n for n, e in expected.items() if e is None} == {"real_noise", "real_speckle", "real_blur", "real_jpeg75",
                                                             "real_jpeg95", "real_shifted"}


@pytest.mark.parametrize("name", list(BATTERY))
def test_each_set_is_uint8_images_of_the_real_shape_and_repeats_with_its_seed(name, real):
    images = make_set(name, real, seed=3)
    assert images.dtype == np.uint8 and images.shape == real.shape
    assert np.array_equal(images, make_set(name, real, seed=3))
    assert np.array_equal(images, make_battery(real, seed=3)[name])
    assert np.array_equal(images, make_set(name, real, seed=4)) == (name not in RANDOM_SETS)


@pytest.mark.parametrize("name, mean, sd", [("uniform_noise", 127.5, 73.9), ("gaussian_noise", 127.5, 62.0)])
def test_noise_images_are_noise(name, mean, sd, real):
    images = make_set(name, real)
    assert images.mean() == pytest.approx(mean, abs=2)
    assert images.std() == pytest.approx(sd, abs=2.5)
    assert abs(neighbour_correlation(images)) < 0.03
    assert neighbour_correlation(real) > 0.8  # what the noise is measured against


def test_flat_images_have_one_grey_level_each_and_many_levels_between_them(real):
    images = make_set("flat_grey", real)
    assert (images.reshape(N, -1).std(axis=1) == 0).all()
    assert len(np.unique(images[:, 0, 0])) > N // 2


def test_half_noise_keeps_one_half_of_the_rows_and_replaces_the_other(real):
    images = make_set("half_noise", real)
    kept_rows = (images == real).all(axis=2)                   # [N, 28]: row left as it was
    top_kept, bottom_kept = [True] * 14 + [False] * 14, [False] * 14 + [True] * 14
    patterns = {tuple(row) for row in kept_rows.tolist()}
    assert patterns == {tuple(top_kept), tuple(bottom_kept)}  # both halves occur, nothing else
    noise = images[~kept_rows]                                 # the replaced rows, [14 N, 28]
    assert noise.std() == pytest.approx(73.9, abs=3)


def test_png_round_trip_is_lossless_and_jpeg_is_not(real):
    assert np.array_equal(make_set("real_png", real), real)
    error = {q: np.abs(make_set(f"real_jpeg{q}", real).astype(int) - real).mean() for q in (75, 95)}
    assert 0 < error[95] < error[75]


@pytest.mark.parametrize("name", list(BATTERY))
def test_sets_saved_as_png_files_read_back_through_the_detector_unchanged(name, real, tmp_path):
    """What the battery scores is what `python -m detector DIR` sees in the same images saved as PNGs."""
    images = make_set(name, real[:5])
    for i, image in enumerate(images):
        Image.fromarray(image, mode="L").save(tmp_path / f"{name}_{i}.png")
    again = np.stack([load_pixels(tmp_path / f"{name}_{i}.png", (28, 28)) for i in range(len(images))])
    assert np.array_equal(again, images)


def test_speckle_sets_the_stated_fraction_to_black_or_white():
    grey = np.full((N, 28, 28), 100, dtype=np.uint8)
    images = make_set("real_speckle", grey)
    black, white = (images == 0).mean(), (images == 255).mean()
    assert black + white == pytest.approx(SPECKLE_FRACTION, abs=0.01)
    assert black == pytest.approx(white, abs=0.01)
    assert ((images == 0) | (images == 255) | (images == 100)).all()


def test_added_noise_has_the_stated_spread():
    grey = np.full((N, 28, 28), 128, dtype=np.uint8)  # mid-grey: no clipping
    assert (make_set("real_noise", grey).astype(float) - 128).std() == pytest.approx(ADDED_NOISE_SD, rel=0.05)


def test_blur_keeps_flat_images_flat_and_smooths_edges(real):
    flat = np.full((3, 28, 28), 77, dtype=np.uint8)
    assert np.array_equal(make_set("real_blur", flat), flat)
    blurred = make_set("real_blur", real)
    assert np.abs(np.diff(blurred.astype(int), axis=2)).max() < np.abs(np.diff(real.astype(int), axis=2)).max()


def test_shift_moves_each_image_one_pixel_and_fills_with_black(real):
    images = make_set("real_shifted", real)
    padded = np.pad(real, ((0, 0), (1, 1), (1, 1)))
    directions = set()
    for i in range(N):
        matches = [k for k, (dy, dx) in enumerate(SHIFTS)
                   if np.array_equal(images[i], padded[i, 1 - dy:29 - dy, 1 - dx:29 - dx])]
        assert matches, f"image {i} is not a one-pixel shift"
        directions.add(matches[0])
    assert directions == set(range(len(SHIFTS)))


@pytest.mark.parametrize("logit, expected_passes", [(1.0, (2, 6)), (-1.0, (4, 6)), (0.0, (2, 6))])
def test_a_constant_detector_passes_one_side_only(logit, expected_passes, real):
    """Everything called real (logit >= threshold, 0 included) passes the real sets only, and the
    reverse; report-only sets never pass or fail."""
    rows = run_battery(lambda images: np.full(len(images), logit), real, threshold=0.0)
    assert list(rows) == list(BATTERY)
    assert passed(rows) == expected_passes
    for name, row in rows.items():
        assert row["called_real"] == (1.0 if logit >= 0 else 0.0) and row["images"] == N
        assert row["passes"] is None if BATTERY[name].expected is None else isinstance(row["passes"], bool)


def test_a_detector_that_knows_noise_from_things_passes_every_check(real):
    """A fake detector that calls an image real when neighbouring pixels agree (real things are
    smooth) and it is not flat: known answers for every checked set."""
    def logits(images):
        flat = images.reshape(len(images), -1).std(axis=1) == 0
        roughness = np.abs(np.diff(images.astype(float), axis=2)).mean(axis=(1, 2))  # real: < 15, noise: > 40
        return np.where(flat, -5.0, 25.0 - roughness)
    rows = run_battery(logits, real)
    assert passed(rows) == (6, 6), {n: r["called_real"] for n, r in rows.items()}


@pytest.mark.parametrize("called_real, expected, passes", [
    (19, REAL, True), (18, REAL, False), (1, GENERATED, True), (2, GENERATED, False), (2, None, None)])
def test_a_set_passes_at_95_percent_of_its_images(called_real, expected, passes):
    logits = np.r_[np.zeros(called_real), -np.ones(20 - called_real)]
    row = score_set(expected, logits, threshold=0.0, pass_fraction=0.95)
    assert row["passes"] is passes
    assert row["called_real"] + row["called_generated"] == pytest.approx(1.0)


def test_the_threshold_moves_the_label():
    assert score_set(REAL, np.array([0.4, 0.6]), threshold=0.5, pass_fraction=0.5)["called_real"] == 0.5


@pytest.mark.parametrize("bad_logits, message", [
    (lambda images: np.zeros(len(images) + 1), "shape"), (lambda images: np.full(len(images), np.nan), "NaN")])
def test_a_model_giving_wrong_logits_is_an_evaluation_error(bad_logits, message, real):
    with pytest.raises(EvaluationError, match=message):
        run_battery(bad_logits, real)


@pytest.mark.parametrize("bad", [np.zeros((3, 28, 28), dtype=np.float32), np.zeros((28, 28), dtype=np.uint8),
                                 np.zeros((0, 28, 28), dtype=np.uint8)])
def test_real_images_must_be_a_uint8_stack(bad):
    with pytest.raises(EvaluationError, match="uint8 images"):
        make_battery(bad)


def test_an_unknown_set_names_the_known_ones(real):
    with pytest.raises(EvaluationError, match="uniform_noise"):
        make_set("static", real)


# --- wired into `python -m train.detector`: --evaluate's sanity section and --sanity ---------------

@pytest.fixture(scope="module")
def shipped_sanity(real):
    """The battery on both shipped models (inference only), from 12 of the stand-in real images."""
    config = DetectorConfig(sanity_per_set=12, seed=1)
    return sanity(config, {"detector": "detector", "discriminator": "discriminator"}, real)


def test_sanity_section_has_every_set_for_every_model_and_is_json(shipped_sanity):
    assert json.loads(json.dumps(shipped_sanity)) == shipped_sanity
    assert (shipped_sanity["images_per_set"], shipped_sanity["seed"], shipped_sanity["threshold"]) == (12, 1, 0.0)
    assert {n: s["expected"] for n, s in shipped_sanity["sets"].items()} == {n: s.expected for n, s in BATTERY.items()}
    for model in ("detector", "discriminator"):
        rows = shipped_sanity["models"][model]["sets"]
        assert list(rows) == list(BATTERY) and all(row["images"] == 12 for row in rows.values())
        counts = shipped_sanity["models"][model]["passed"], shipped_sanity["models"][model]["checked"]
        assert counts == passed(rows) and counts[1] == 6  # the count the docs cite


def test_sanity_table_has_a_row_per_set_and_the_totals(shipped_sanity):
    lines = sanity_table(shipped_sanity)
    header = next(line for line in lines if line.startswith("| set |"))
    assert header == "| set | what | expected | detector: called real | discriminator: called real |"
    rows = {line.split(" | ")[0][2:]: line for line in lines if line.startswith("| ") and line != header}
    assert set(rows) == set(BATTERY) | {"checks passed"}
    assert "| report only |" in rows["real_jpeg75"] and "pass" not in rows["real_jpeg75"].split("|")[-2]
    detector_total = "**{} of {}**".format(*passed(shipped_sanity["models"]["detector"]["sets"]))
    assert detector_total in rows["checks passed"]


def test_sanity_command_prints_the_table(tiny_data_dir, capsys):
    assert main(["--sanity", "--data-dir", str(tiny_data_dir), "--sanity-per-set", "8"]) == 0
    out = capsys.readouterr().out
    assert "| uniform_noise | uniform noise" in out and "| checks passed |" in out
    assert "discriminator: called real" in out and "Each set is 8 images" in out


@pytest.mark.parametrize("args, message", [
    (["--sanity-models", "no/such/model.onnx"], "model file not found"),
    (["--evaluate"], "--sanity and --evaluate are separate runs")])
def test_sanity_command_refuses_with_one_line(args, message, tiny_data_dir, capsys):
    assert main(["--sanity", "--data-dir", str(tiny_data_dir), *args]) == 1
    assert message in capsys.readouterr().err
