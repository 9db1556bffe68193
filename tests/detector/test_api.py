"""Known answers through the tiny mean-pixel model, via the library API."""

import math
import warnings

import numpy as np
import pytest

from detector import detect, Detector, DetectorError, ImageError, load_detector, ModelError, Prediction
from detector.scoring import predictions, sigmoid


@pytest.mark.parametrize("value", [0, 1, 64, 127, 128, 200, 255])
def test_uniform_images_give_hand_computed_answers(detector, helpers, value):
    image = np.full((28, 28), value, np.uint8)
    label, confidence = helpers.expected(value)
    for source in (image, helpers.encode(image)):
        prediction = detector.detect(source)
        assert prediction.label == label
        assert prediction.confidence == pytest.approx(confidence, abs=1e-6)


def test_black_and_white_by_hand(detector):
    # black: logit 4 * -1 + 1 = -3; white: 4 * 1 + 1 = 5.
    black = detector.detect(np.zeros((28, 28), np.uint8))
    white = detector.detect(np.full((28, 28), 255, np.uint8))
    assert black == pytest.approx(Prediction("generated", 1 / (1 + math.exp(-3)), -3.0))
    assert white.label == "real" and white.confidence == pytest.approx(1 / (1 + math.exp(-5)))
    assert black.as_dict() == {"label": "generated", "confidence": 0.9526}
    assert white.as_dict() == {"label": "real", "confidence": 0.9933}


def test_path_input(detector, helpers, tmp_path):
    path = tmp_path / "white.png"
    path.write_bytes(helpers.encode(np.full((28, 28), 255, np.uint8)))
    assert detector.detect(path).label == "real"
    assert detector.detect(str(path)).label == "real"


def test_detect_many_keeps_order_and_errors_in_place(tiny_model, helpers):
    small = load_detector(tiny_model, batch_size=3)  # several batches, errors across borders
    values = [0, 255, 10, 250, 128, 5, 100]
    sources = [helpers.encode(np.full((28, 28), v, np.uint8)) for v in values]
    sources.insert(2, b"not an image")
    sources.append(np.zeros((5, 5), np.uint8))
    results = list(small.detect_many(sources))
    assert len(results) == len(sources)
    assert isinstance(results[2], ImageError) and isinstance(results[-1], ImageError)
    good = [r for r in results if isinstance(r, Prediction)]
    assert [r.label for r in good] == [helpers.expected(v)[0] for v in values]


def test_detect_arrays_batches(tiny_model, helpers):
    small = load_detector(tiny_model, batch_size=4)
    values = np.arange(0, 256, 25, dtype=np.uint8)
    pixels = np.repeat(values[:, None, None], 28, 1).repeat(28, 2)
    got = small.detect_arrays(pixels)
    assert [p.label for p in got] == [helpers.expected(v)[0] for v in values]
    assert [p.confidence for p in got] == pytest.approx([helpers.expected(v)[1] for v in values],
                                                        abs=1e-6)
    with pytest.raises(ImageError, match="expected uint8 \\[N, 28, 28\\]"):
        small.detect_arrays(np.zeros((2, 27, 28), np.uint8))


def test_detect_raises_image_error(detector):
    with pytest.raises(ImageError, match="expected 28x28"):
        detector.detect(np.zeros((32, 32), np.uint8))


def test_module_level_detect(tiny_model):
    assert detect(np.zeros((28, 28), np.uint8), tiny_model).label == "generated"


def test_info_exposes_metadata(detector):
    info = detector.info
    assert info.image_size == (28, 28) and info.output == "real_logit"
    assert (info.positive_label, info.negative_label) == ("real", "generated")
    assert len(info.class_names) == 10 and info.extra["run"] == "test"


def test_batch_size_must_be_positive(detector):
    with pytest.raises(DetectorError, match="batch_size must be at least 1, not 0"):
        Detector(detector.model, batch_size=0)


def test_a_model_that_is_neither_name_nor_path_is_a_model_error():
    with pytest.raises(ModelError, match="a model is a name in models/ or a path, not 123"):
        load_detector(123)


def test_sigmoid_is_stable_and_half_is_real():
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no overflow warnings
        got = predictions(np.array([1e6, -1e6, 0.0, -0.0, 800.0, np.inf, -np.inf]),
                          "real", "generated")
    assert [p.label for p in got] == ["real", "generated", "real", "real", "real", "real",
                                      "generated"]
    assert [p.confidence for p in got] == [1.0, 1.0, 0.5, 0.5, 1.0, 1.0, 1.0]


def test_nan_logit_is_an_error_for_that_image():
    nan, ok = predictions(np.array([np.nan, 2.0]), "real", "generated")
    assert isinstance(nan, ModelError) and ok.label == "real"


def test_extreme_logits_through_a_model(tmp_path, helpers):
    steep = load_detector(helpers.write_model(tmp_path / "steep.onnx", weight=1e4, bias=0.0))
    assert steep.detect(np.zeros((28, 28), np.uint8)) == ("generated", 1.0, -1e4)



def test_thread_count_is_configurable(tiny_model):
    single = load_detector(tiny_model, threads=1)
    assert single.model.session.get_session_options().intra_op_num_threads == 1
    assert single.detect(np.full((28, 28), 255, np.uint8)).label == "real"


def test_sigmoid_known_values_and_tails():
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no overflow warnings
        got = sigmoid(np.array([0.0, 2.0, -2.0, 800.0, -800.0, np.inf, -np.inf]))
    assert got[0] == 0.5 and got[1] == pytest.approx(1 / (1 + np.exp(-2.0)), rel=1e-15)
    assert got[1] + got[2] == pytest.approx(1.0, rel=1e-15)
    assert got[3:].tolist() == [1.0, 0.0, 1.0, 0.0]
    assert sigmoid(-40.0) == pytest.approx(np.exp(-40.0), rel=1e-12)  # accurate in the low tail
