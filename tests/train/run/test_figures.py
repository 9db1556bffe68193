import numpy as np
import pytest

from train.run import figures


def test_tile_places_images_row_major_with_padding():
    images = np.stack([np.full((2, 3), v, np.uint8) for v in (10, 20, 30)])
    canvas = figures.tile(images, rows=2, pad=1)
    assert canvas.shape == (2 * (2 + 1) + 1, 2 * (3 + 1) + 1)
    assert (canvas[1:3, 1:4] == 10).all() and (canvas[1:3, 5:8] == 20).all()
    assert (canvas[4:6, 1:4] == 30).all()
    assert (canvas[4:6, 5:8] == 64).all()  # the empty fourth slot
    assert canvas[0].tolist() == [64] * canvas.shape[1]


@pytest.mark.parametrize("values, weight, expected", [
    ([3.0, 3.0, 3.0], 0.98, [3.0, 3.0, 3.0]),   # bias correction: a constant stays constant
    ([0.0, 1.0], 0.5, [0.0, 2 / 3]),             # (0.5*0 + 0.5*1) / (1 - 0.25)
    ([4.0, 0.0], 0.0, [4.0, 0.0]),               # weight 0: no smoothing
])
def test_smooth_known_answers(values, weight, expected):
    np.testing.assert_allclose(figures.smooth(np.array(values), weight), expected)


def test_figures_are_written_as_png(tmp_path):
    names = ("a", "b")
    grid = np.zeros((2 * 3, 28, 28), np.uint8)
    figures.save_class_grid(grid, names, tmp_path / "deep" / "grid.png", "title")
    figures.draw_pairs(grid[:2], grid[:2], names, tmp_path / "pairs.png")
    rows = [{"step": s, "loss_d": 1.0, "loss_g": 2.0, "d_real": 0.6, "d_fake": 0.4} for s in (1, 2)]
    figures.save_loss_curves(rows, tmp_path / "curves.png")
    figures.save_loss_curves([{**r, "d_accuracy": 0.7} for r in rows], tmp_path / "with_accuracy.png")
    for name in ("deep/grid.png", "pairs.png", "curves.png", "with_accuracy.png"):
        assert (tmp_path / name).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n", name


def test_loss_curves_gain_the_accuracy_panel_when_rows_have_it(tmp_path):
    from PIL import Image
    rows = [{"step": s, "loss_d": 1.0, "loss_g": 2.0, "d_real": 0.6, "d_fake": 0.4} for s in (1, 2)]
    figures.save_loss_curves(rows, tmp_path / "two.png")
    figures.save_loss_curves([{**r, "d_accuracy": 0.7} for r in rows], tmp_path / "three.png")
    assert Image.open(tmp_path / "three.png").height > Image.open(tmp_path / "two.png").height
