"""`python -m detector`: output format, batching, exit codes and failure handling.

Most tests call main(argv) in-process (fast); test_subprocess.py covers real processes.
"""

import json
import math
import os
import re
import sys

import numpy as np
import pytest

from detector.__main__ import native_stderr_silenced
from detector.api import Detector


@pytest.fixture
def images(tmp_path, helpers):
    """A folder tree of uniform PNGs named by value, plus a non-image file to skip."""
    root = tmp_path / "imgs"
    (root / "sub" / "deeper").mkdir(parents=True)
    layout = {"b.png": 255, "a.png": 0, "sub/c.png": 128, "sub/deeper/d.PNG": 200,
              "a-b.png": 10}
    for name, value in layout.items():
        (root / name).write_bytes(helpers.encode(np.full((28, 28), value, np.uint8)))
    (root / "notes.txt").write_text("not an image, and not looked at")
    return root, layout


def rows(out):
    return [json.loads(line) for line in out.splitlines()]


def test_single_image_prints_exactly_label_and_confidence(cli, tiny_model, tmp_path, helpers):
    path = tmp_path / "white.png"
    path.write_bytes(helpers.encode(np.full((28, 28), 255, np.uint8)))
    code, out, err = cli("--model", tiny_model, path)
    assert (code, err) == (0, "")
    assert out == '{"label": "real", "confidence": 0.9933}\n'


def test_several_paths_and_directory(cli, tiny_model, images, helpers):
    root, layout = images
    code, out, err = cli("--model", tiny_model, root / "b.png", root)
    assert (code, err) == (0, "")
    got = rows(out)
    # the directory is read recursively, image extensions only, sorted by path components
    order = ["b.png", "a-b.png", "a.png", "b.png", "sub/c.png", "sub/deeper/d.PNG"]
    assert [r["path"] for r in got] == [str(root / "b.png")] + [str(root / n) for n in order[1:]]
    for row, name in zip(got, order):
        label, confidence = helpers.expected(layout[name])
        assert list(row) == ["path", "label", "confidence"]
        assert row["label"] == label and row["confidence"] == round(confidence, 4)


def test_directory_alone_gives_json_lines(cli, tiny_model, images):
    root, _ = images
    code, out, _ = cli("--model", tiny_model, root / "sub")
    assert code == 0 and [r["path"] for r in rows(out)] == [str(root / "sub" / "c.png"),
                                                            str(root / "sub/deeper/d.PNG")]


def test_bad_file_among_good_ones(cli, tiny_model, images, tmp_path):
    root, _ = images
    (root / "sub" / "broken.png").write_bytes(b"\x89PNG\r\n\x1a\n garbage")
    code, out, err = cli("--model", tiny_model, root, tmp_path / "missing.png", "--batch-size",
                         "2")
    got = rows(out)
    assert code == 1 and len(got) == 7
    errors = {r["path"]: r["error"] for r in got if "error" in r}
    assert set(errors) == {str(root / "sub" / "broken.png"), str(tmp_path / "missing.png")}
    assert "No such file" in errors[str(tmp_path / "missing.png")]
    assert sum("label" in r for r in got) == 5
    assert err.count("\n") == 2 and all(line.startswith("detector: ")
                                        for line in err.splitlines())


def test_batches_use_one_session_run_per_batch(cli, tiny_model, tmp_path, helpers, monkeypatch):
    for i in range(10):
        (tmp_path / f"{i}.png").write_bytes(helpers.encode(np.zeros((28, 28), np.uint8)))
    sizes = []
    score = Detector._score
    monkeypatch.setattr(Detector, "_score",
                        lambda self, pending: sizes.append(len(pending)) or score(self, pending))
    code, out, _ = cli("--model", tiny_model, "--batch-size", "4", tmp_path)
    assert code == 0 and len(rows(out)) == 10 and sizes == [4, 4, 2]


def test_stdin(cli, tiny_model, helpers):
    data = helpers.encode(np.zeros((28, 28), np.uint8))
    code, out, _ = cli("--model", tiny_model, "-", stdin=data)
    assert code == 0 and json.loads(out) == {"label": "generated", "confidence": 0.9526}
    code, out, _ = cli("--model", tiny_model, "-", "-", stdin=data)
    assert code == 2


def test_stdin_among_paths_is_named_dash(cli, tiny_model, images, helpers):
    root, _ = images
    data = helpers.encode(np.full((28, 28), 255, np.uint8))
    code, out, _ = cli("--model", tiny_model, root / "a.png", "-", stdin=data)
    assert code == 0 and [r["path"] for r in rows(out)] == [str(root / "a.png"), "-"]


def test_wrong_size_and_resize(cli, tiny_model, tmp_path, helpers):
    path = tmp_path / "big.png"
    path.write_bytes(helpers.encode(np.full((32, 32), 255, np.uint8)))
    code, out, err = cli("--model", tiny_model, path)
    assert code == 1
    assert json.loads(out) == {"error": "image is 32x32, expected 28x28; pass --resize to "
                                        "scale it"}
    assert err == f"detector: {path}: image is 32x32, expected 28x28; pass --resize to scale it\n"
    code, out, _ = cli("--model", tiny_model, "--resize", path)
    assert code == 0 and json.loads(out) == {"label": "real", "confidence": 0.9933}


@pytest.mark.parametrize("content", [b"", b"plain text\n", b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR",
                                     bytes(range(256)) * 4])
def test_bad_single_input(cli, tiny_model, tmp_path, content):
    path = tmp_path / "bad.png"
    path.write_bytes(content)
    code, out, err = cli("--model", tiny_model, path)
    assert code == 1 and list(json.loads(out)) == ["error"]
    assert err.startswith(f"detector: {path}: ") and err.count("\n") == 1


def test_empty_directory_is_a_failed_row(cli, tiny_model, tmp_path):
    code, out, err = cli("--model", tiny_model, tmp_path)
    assert code == 1 and "no image files" in rows(out)[0]["error"]


@pytest.mark.parametrize("make,message", [
    ("missing", "model file not found"), ("empty", "not a loadable ONNX model"),
    ("garbage", "not a loadable ONNX model"), ("truncated", "not a loadable ONNX model"),
    ("no_metadata", "metadata lacks schema"), ("wrong_size", "expected tensor\\(float\\)")])
def test_model_errors_are_fatal(cli, tmp_path, helpers, make, message):
    image = tmp_path / "a.png"
    image.write_bytes(helpers.encode(np.zeros((28, 28), np.uint8)))
    model = tmp_path / "model.onnx"
    if make in ("empty", "garbage"):
        model.write_bytes(b"garbage" if make == "garbage" else b"")
    elif make == "truncated":
        model.write_bytes(helpers.write_model(model).read_bytes()[:300])
    elif make == "no_metadata":
        helpers.write_model(model, drop=list(helpers.METADATA))
    elif make == "wrong_size":
        helpers.write_model(model, size=(32, 32))
    code, out, err = cli("--model", model, image, image)
    assert code == 1
    (row,) = rows(out)  # one error object, no per-image rows
    assert list(row) == ["error"] and str(model) in row["error"]
    assert re.search(message, row["error"]) and err == f"detector: {row['error']}\n"


def test_usage_errors_exit_2(cli, tiny_model):
    assert cli()[0] == 2
    assert cli("--model", tiny_model, "--batch-size", "0", "x.png")[0] == 2
    assert cli("--bogus", "x.png")[0] == 2


def test_help_documents_usage(cli):
    code, out, _ = cli("--help")
    assert code == 0
    for text in ("python -m detector img.png", "cat img.png | python -m detector -", "--resize",
                 "--model", "exit status", '{"label": "real", "confidence": 0.93}'):
        assert text in out



def test_native_stderr_is_silenced_while_running(capfd):
    """C libraries write to fd 2 directly (libtiff); our own lines still get through."""
    with native_stderr_silenced():
        os.write(2, b"LZWDecode: Not enough data at scanline 0\n")
        print("detector: ours", file=sys.stderr)
    os.write(2, b"after\n")
    assert capfd.readouterr().err == "detector: ours\nafter\n"



def test_help_texts_state_the_limits_the_code_applies():
    from detector import __main__, cli, forms, images, serve_cli, service
    side = math.isqrt(images.MAX_PIXELS)
    assert f"over {images.MAX_FILE_BYTES // 2**20} MiB" in cli.EPILOG
    assert f"{__main__.EXIT_INTERRUPTED}  interrupted" in cli.EPILOG
    assert f"body over {service.MAX_BODY_BYTES // 2**20} MiB" in serve_cli.EPILOG
    assert f"image over {side}x{side} pixels" in serve_cli.EPILOG and side * side == images.MAX_PIXELS
    assert f"more\n  than {forms.MAX_PARTS} files" in serve_cli.EPILOG
    from detector.server import Settings
    assert f"holds {Settings().buffer_limit // 2**20} MiB of bodies" in serve_cli.EPILOG


def test_a_closed_stdin_gives_an_error_row(tiny_model, monkeypatch, capsys):
    from detector.__main__ import main
    monkeypatch.setattr("sys.stdin", None)
    assert main(["--model", str(tiny_model), "-"]) == 1
    assert json.loads(capsys.readouterr().out) == {"error": "no stdin to read (it is closed)"}


def test_stdin_over_the_file_limit_is_refused(cli, tiny_model):
    from detector.images import MAX_FILE_BYTES
    code, out, _ = cli("--model", tiny_model, "-", stdin=b"\x89PNG\r\n\x1a\n" + bytes(MAX_FILE_BYTES))
    assert code == 1 and json.loads(out) == {"error": "image data is larger than 64 MiB"}
