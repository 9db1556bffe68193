"""python -m train.wreath: Advent dates with known answers, the class it draws, and a wreath
drawn by a generator trained for 2 steps on a synthetic candle.npy."""
import datetime as dt

import numpy as np
import pytest
from PIL import Image

from train.errors import WreathError
from train.gan.trainer import train
from train.wreath import (CANDLE_NPY_URL, WreathConfig, advent_sundays, candle_label, lit_candles,
                          main, make_wreath, parse_date)

D = dt.date


@pytest.mark.parametrize("year, first, fourth", [
    (2023, D(2023, 12, 3), D(2023, 12, 24)),   # 24 December is itself a Sunday
    (2024, D(2024, 12, 1), D(2024, 12, 22)),
    (2025, D(2025, 11, 30), D(2025, 12, 21)),
    (2026, D(2026, 11, 29), D(2026, 12, 20)),
    (2027, D(2027, 11, 28), D(2027, 12, 19)),
])
def test_advent_sundays_known_years(year, first, fourth):
    sundays = advent_sundays(year)
    assert sundays[0] == first and sundays[3] == fourth
    assert all(day.weekday() == 6 for day in sundays)
    assert [b - a for a, b in zip(sundays, sundays[1:])] == [dt.timedelta(days=7)] * 3


@pytest.mark.parametrize("day, lit", [
    (D(2026, 7, 1), 0), (D(2026, 11, 28), 0),
    (D(2026, 11, 29), 1), (D(2026, 12, 5), 1), (D(2026, 12, 6), 2), (D(2026, 12, 13), 3),
    (D(2026, 12, 19), 3), (D(2026, 12, 20), 4), (D(2026, 12, 24), 4),
    (D(2026, 12, 25), 5), (D(2026, 12, 31), 5), (D(2027, 1, 6), 5), (D(2027, 1, 7), 0),
    (D(2023, 12, 23), 3), (D(2023, 12, 24), 4), (D(2023, 12, 25), 5),
    (D(2025, 11, 30), 1), (D(2025, 12, 21), 4),
])
def test_lit_candles(day, lit):
    assert lit_candles(day) == lit


def test_dates_are_iso_or_refused():
    assert parse_date("2026-12-13") == D(2026, 12, 13)
    assert parse_date(None) == D.today()
    with pytest.raises(WreathError, match="--date '13.12.2026' is not a YYYY-MM-DD date"):
        parse_date("13.12.2026")


def test_the_candle_class_is_picked_or_the_classes_named():
    conditional = {"config": {"unconditional": False}, "class_names": ["cat", "Candle", "star"]}
    assert candle_label(conditional) == 1
    assert candle_label({"config": {"unconditional": True}, "class_names": ["anything"]}) == 0
    with pytest.raises(WreathError, match="no 'candle' class .*classes: cat, star"):
        candle_label({"config": {}, "class_names": ["cat", "star"]})


def test_without_a_run_the_error_says_what_to_train(tmp_path, capsys):
    run_dir = tmp_path / "no-run"
    with pytest.raises(WreathError) as caught:
        make_wreath(WreathConfig(run_dir=run_dir, date="2026-12-13", out=tmp_path / "w.png"))
    message = str(caught.value)
    assert f"python -m train --dataset npy --data-path candle.npy --run-dir {run_dir}" in message
    assert CANDLE_NPY_URL in message
    assert main(["--run-dir", str(run_dir), "--out", str(tmp_path / "w.png")]) == 1
    assert capsys.readouterr().err.startswith("wreath: no candle generator at ")
    assert not (tmp_path / "w.png").exists()


def synthetic_candles(n: int = 64, seed: int = 0) -> np.ndarray:
    """uint8 [n, 28, 28]: a vertical bar (the candle) with a blob on top (the flame)."""
    rng = np.random.default_rng(seed)
    images = np.zeros((n, 28, 28), dtype=np.uint8)
    yy, xx = np.mgrid[:28, :28]
    for image, x, top in zip(images, rng.integers(11, 15, n), rng.integers(9, 13, n)):
        image[top:26, x:x + 4] = 255
        image[(yy - (top - 4)) ** 2 + (xx - x - 1.5) ** 2 <= 6] = 255
    return images


@pytest.fixture(scope="module")
def candle_run(tmp_path_factory, tiny):
    folder = tmp_path_factory.mktemp("candle")
    np.save(folder / "candle.npy", synthetic_candles())
    run_dir = folder / "run"
    train(tiny.config(run_dir, None, dataset="npy", data_path=[str(folder / "candle.npy")],
                      max_steps=2, epochs=1))
    return run_dir


def draw(run_dir, out, date, size=128) -> np.ndarray:
    assert main(["--run-dir", str(run_dir), "--out", str(out), "--date", date, "--size", str(size),
                 "--device", "cpu", "--seed", "3"]) == 0
    with Image.open(out) as image:
        assert image.size == (size, size) and image.mode == "RGB"
        return np.asarray(image)


def test_wreath_from_a_candle_run(candle_run, tmp_path, capsys):
    unlit = draw(candle_run, tmp_path / "unlit.png", "2026-11-01")
    assert "no candle lit yet (1st Advent 2026-11-29)" in capsys.readouterr().out
    third = draw(candle_run, tmp_path / "third.png", "2026-12-13")
    assert "3 of 4 candles lit on 2026-12-13 (generator step 2)" in capsys.readouterr().out
    christmas = draw(candle_run, tmp_path / "christmas.png", "2026-12-26")
    assert "5 of 5 candles lit" in capsys.readouterr().out
    assert not np.array_equal(unlit, third) and not np.array_equal(third, christmas)
    # Lit candles glow: the lit picture is warmer (more red than blue) than the unlit one.
    warmth = lambda image: float((image[..., 0].astype(int) - image[..., 2]).mean())  # noqa: E731
    assert warmth(third) > warmth(unlit)
    assert np.array_equal(third, draw(candle_run, tmp_path / "again.png", "2026-12-13"))
