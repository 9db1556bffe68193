"""The page at ``/``, in a real headless Chromium: onnxruntime-web on models/detector.onnx must
give the Detector API's labels, and confidences within 1e-4, on 115 images made here (PNG and
JPEG, real examples and the shipped generator's images; gray, colour and alpha). It also checks
the page's words for a wrong-size image and for a file that is not an image.

Skipped without Chromium or without onnxruntime-web (``npm ci --prefix detector/web``), except
under CI (CI=true), where .ci/run installs both: there a missing one fails the test instead of
hiding it. DETECTOR_SCREENSHOT=PATH saves the page with the examples'
answers (docs/figures/serve_page.png was made so).
"""

import base64
import io
import json
import os
import threading
from pathlib import Path

import numpy as np
import onnxruntime as ort
import pytest
from PIL import Image

from chromium import Chromium, find_chromium
from detector import load_detector
from detector.server import make_server
from detector.web import FETCH_COMMAND, WebFiles

ROOT = Path(__file__).resolve().parents[2]
TOLERANCE = 1e-4
CHROMIUM = find_chromium()
MISSING = [why for absent, why in ((CHROMIUM is None, "no chromium (apt-get install -y chromium)"),
                                   (bool(WebFiles().missing()), f"no onnxruntime-web: {FETCH_COMMAND}"))
           if absent]
pytestmark = pytest.mark.skipif(bool(MISSING) and os.environ.get("CI") != "true",
                                reason="; ".join(MISSING))


@pytest.fixture(autouse=True)
def browser_available():
    assert not MISSING, f"CI must run the browser test: {'; '.join(MISSING)}"


def encode(array: np.ndarray, format="PNG", **save) -> bytes:
    buffer = io.BytesIO()
    Image.fromarray(array).save(buffer, format=format, **save)
    return buffer.getvalue()


def generated(count: int, seed: int = 0) -> np.ndarray:
    """uint8 [count, 28, 28] images from the shipped generator (all ten classes)."""
    session = ort.InferenceSession(str(ROOT / "models" / "generator.onnx"),
                                   providers=["CPUExecutionProvider"])
    rng = np.random.default_rng(seed)
    feeds = {"noise": rng.standard_normal((count, 64)).astype(np.float32),
             "labels": (np.arange(count) % 10).astype(np.int64)}
    (images,) = session.run(None, feeds)
    return np.clip(np.rint((images[:, 0] + 1) * 127.5), 0, 255).astype(np.uint8)


def sample_images() -> list:
    """115 (name, bytes): the examples as PNG and JPEG, flipped and shifted real examples,
    generated PNGs and JPEGs, colour-tinted and semi-transparent ones."""
    paths = sorted((ROOT / "examples").glob("*.png"))
    examples = {p.name: np.asarray(Image.open(p)) for p in paths}
    files = [(name, (ROOT / "examples" / name).read_bytes()) for name in examples]
    files += [(name.replace(".png", ".jpg"), encode(a, "JPEG", quality=90))
              for name, a in examples.items()]
    real = [a for name, a in examples.items() if name.startswith("real")]
    files += [(f"real-flip-{i}.png", encode(np.fliplr(a).copy())) for i, a in enumerate(real)]
    files += [(f"real-shift-{i}.png", encode(np.roll(a, 1, axis=1))) for i, a in enumerate(real)]
    fakes = generated(85)
    files += [(f"gen-{i}.png", encode(a)) for i, a in enumerate(fakes[:50])]
    files += [(f"gen-{i}.jpg", encode(a, "JPEG", quality=85)) for i, a in enumerate(fakes[50:70])]
    tint = np.array([1.0, 0.8, 0.55])
    files += [(f"gen-rgb-{i}.png", encode(np.rint(a[..., None] * tint).astype(np.uint8)))
              for i, a in enumerate(fakes[70:80])]
    files += [(f"gen-alpha-{i}.png", encode(np.dstack([a, np.full_like(a, 200)])))
              for i, a in enumerate(fakes[80:85])]
    return files


@pytest.fixture(scope="module")
def page(tmp_path_factory):
    server = make_server(port=0, workers=4, quiet=True)  # models/detector.onnx, as the CLI
    threading.Thread(target=server.serve_forever, daemon=True).start()
    browser = Chromium(CHROMIUM, tmp_path_factory.mktemp("chromium-profile"))
    try:
        browser.open(server.url)
        browser.evaluate("modelInfo()")  # the model is loaded
        yield browser
    finally:
        browser.close()
        server.shutdown()
        server.server_close()


def detect_in_page(page, files, resize=False) -> list:
    items = [{"name": name, "base64": base64.b64encode(data).decode()} for name, data in files]
    return page.evaluate(f"detectFiles({json.dumps(items)}, {{resize: {json.dumps(resize)}}})")


def test_page_answers_like_the_detector_api(page):
    files = sample_images()
    assert len(files) == 115
    expected = list(load_detector().detect_many(data for _, data in files))
    rows = detect_in_page(page, files)
    assert [row["name"] for row in rows] == [name for name, _ in files]
    differences = []
    for row, want in zip(rows, expected):
        assert "error" not in row, row
        assert row["label"] == want.label, (row, want)
        differences.append(abs(row["confidence"] - want.confidence))
    print(f"\n{len(rows)} images; largest confidence difference {max(differences):.2e}")
    assert max(differences) <= TOLERANCE


def test_page_explains_what_it_expects(page):
    wrong_size = encode(np.zeros((40, 30), np.uint8))
    rows = detect_in_page(page, [("big.png", wrong_size), ("notes.txt", b"not an image\n")])
    assert rows == [
        {"name": "big.png", "error": 'image is 30x40, expected 28x28 (FashionMNIST format); '
                                     'tick "resize" to scale it'},
        {"name": "notes.txt", "error": "not an image this browser can decode "
                                       "(PNG, JPEG, GIF, BMP, WebP)"}]
    (resized,) = detect_in_page(page, [("big.png", wrong_size)], resize=True)
    assert resized["label"] in ("real", "generated")


def test_screenshot_of_the_examples(page, tmp_path):
    page.evaluate("document.getElementById('results').replaceChildren()")
    examples = [(p.name, p.read_bytes()) for p in sorted((ROOT / "examples").glob("*.png"))]
    detect_in_page(page, examples + [("photo-64x64.png", encode(np.zeros((64, 64), np.uint8))),
                                     ("notes.txt", b"not an image\n")])
    png = page.screenshot(1000, 720)
    assert png.startswith(b"\x89PNG")
    Path(os.environ.get("DETECTOR_SCREENSHOT") or tmp_path / "page.png").write_bytes(png)
