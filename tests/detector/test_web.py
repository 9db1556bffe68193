"""The page at ``/``, in a real headless Chromium, both ways it can run: with onnxruntime-web
(``npm ci --prefix detector/web``) the model runs in the browser, and without it (the README's
first command alone) the page sends the images to the server's POST /detect. Either way it must
give the Detector API's labels, and confidences within 1e-4, on 115 images made here (PNG and
JPEG, real examples and the shipped generator's images; gray, colour and alpha), and say on
each answer which of the two ran it. It also checks the page's words for a wrong-size image and
for a file that is not an image.

Chromium is driven by Selenium through Debian's chromedriver (`apt-get install -y chromium
chromium-driver`; Selenium cannot download browsers or drivers here, so it is given both paths).
Skipped without them or Selenium (the in-browser half also without onnxruntime-web), except
under CI (CI=true), where .ci/run installs them: there a missing one fails the test instead of
hiding it.
DETECTOR_SCREENSHOT=PATH saves the in-browser page with the examples' answers
(docs/figures/serve_page.png was made so).
"""

import base64
import io
import json
import os
import shutil
from pathlib import Path

import numpy as np
import onnxruntime as ort
import pytest
from PIL import Image

from detector import DetectorError, load_detector
from detector.server import create_app, serve_in_thread, Settings
from detector.service import error_message
from detector.web import FETCH_COMMAND, PAGE_FILES, WEB_DIR, WebFiles

ROOT = Path(__file__).resolve().parents[2]
TOLERANCE = 1e-4
try:
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service
except ImportError:
    webdriver = None
CHROMIUM = next(filter(None, map(shutil.which, ("chromium", "chromium-browser"))), None)
CHROMEDRIVER = shutil.which("chromedriver")
IN_CI = os.environ.get("CI") == "true"
NO_BROWSER = "; ".join(why for absent, why in (
    (CHROMIUM is None or CHROMEDRIVER is None, "no chromium or chromedriver "
                                                "(apt-get install -y chromium chromium-driver)"),
    (webdriver is None, "no selenium (pip install -r requirements-train.txt)")) if absent)
NO_RUNTIME = f"no onnxruntime-web: {FETCH_COMMAND}"
pytestmark = pytest.mark.skipif(bool(NO_BROWSER) and not IN_CI, reason=NO_BROWSER)
WINDOW = (1000, 720)
# The page's two ways to run: the runtime as installed here, and the same page without it.
RAN = ["browser", "server"]


@pytest.fixture(autouse=True)
def browser_available():
    assert not NO_BROWSER, f"CI must run the browser test: {NO_BROWSER}"


def headless_chromium():
    """The system's Chromium under Selenium, headless, as root where need be."""
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for flag in ("--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                 "--window-size=%d,%d" % WINDOW):
        options.add_argument(flag)
    driver = webdriver.Chrome(options=options, service=Service(CHROMEDRIVER))
    driver.set_script_timeout(120)  # detectFiles on 115 images, on a busy machine
    width, height = WINDOW  # the page's own size (the window's includes its frame)
    driver.execute_cdp_cmd("Emulation.setDeviceMetricsOverride", {
        "width": width, "height": height, "deviceScaleFactor": 1, "mobile": False})
    return driver


def page_without_runtime(folder: Path) -> WebFiles:
    """The page's own files, with no node_modules beside them: the README's first command."""
    for name in set(PAGE_FILES.values()):
        shutil.copy(WEB_DIR / name, folder / name)
    return WebFiles(folder)


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


@pytest.fixture(scope="module", params=RAN)
def page(request, tmp_path_factory):
    """(the page in Chromium, which of the two ran its answers)."""
    if request.param == "browser" and WebFiles().missing():
        if not IN_CI:
            pytest.skip(NO_RUNTIME)
        pytest.fail(f"CI must run the in-browser page: {NO_RUNTIME}")
    web = (WebFiles() if request.param == "browser"
           else page_without_runtime(tmp_path_factory.mktemp("web")))
    app = create_app(Settings(), web=web)  # models/detector.onnx, as the CLI
    with serve_in_thread(app) as url:
        browser = headless_chromium()
        try:
            browser.get(url)
            evaluate(browser, "modelInfo()")  # the model is loaded
            yield browser, request.param
        finally:
            browser.quit()


def evaluate(browser, expression: str):
    """The value of a JavaScript expression in the page; a promise is awaited (WebDriver's
    Execute Script waits for it)."""
    return browser.execute_script(f"return {expression};")


def detect_in_page(page, files, resize=False) -> list:
    items = [{"name": name, "base64": base64.b64encode(data).decode()} for name, data in files]
    return evaluate(page, f"detectFiles({json.dumps(items)}, {{resize: {json.dumps(resize)}}})")


def test_page_answers_like_the_detector_api(page):
    page, ran = page
    files = sample_images()
    assert len(files) == 115
    expected = list(load_detector().detect_many(data for _, data in files))
    rows = detect_in_page(page, files)
    assert [row["name"] for row in rows] == [name for name, _ in files]
    differences = []
    for row, want in zip(rows, expected):
        assert "error" not in row, row
        assert (row["label"], row["ran"]) == (want.label, ran), (row, want)
        differences.append(abs(row["confidence"] - want.confidence))
    print(f"\n{len(rows)} images, run {ran}; largest confidence difference {max(differences):.2e}")
    assert max(differences) <= TOLERANCE


def test_page_says_where_the_model_runs(page):
    page, ran = page
    where = evaluate(page, "document.getElementById('where').textContent")
    status = evaluate(page, "document.getElementById('status').textContent")
    if ran == "browser":
        assert "runs in this browser" in where and "no image leaves this machine" in where
    else:
        assert "sent to the server (POST /detect)" in where and FETCH_COMMAND in where
    assert status.startswith(f"Model ready (run {'in this browser' if ran == 'browser' else 'by the server'}):")


def server_error(data: bytes, resize=False) -> str:
    """What POST /detect says of an image the API refuses."""
    with pytest.raises(DetectorError) as refused:
        load_detector().detect(data, resize=resize)
    return error_message(refused.value)


def test_page_explains_what_it_expects(page):
    page, ran = page
    wrong_size, text = encode(np.zeros((40, 30), np.uint8)), b"not an image\n"
    rows = detect_in_page(page, [("big.png", wrong_size), ("notes.txt", text)])
    if ran == "browser":
        errors = ['image is 30x40, expected 28x28 (FashionMNIST format); tick "resize" to scale it',
                  "not an image this browser can decode (PNG, JPEG, GIF, BMP, WebP)"]
    else:
        errors = [server_error(wrong_size), server_error(text)]
    assert rows == [{"name": "big.png", "error": errors[0], "ran": ran},
                    {"name": "notes.txt", "error": errors[1], "ran": ran}]
    (resized,) = detect_in_page(page, [("big.png", wrong_size)], resize=True)
    assert resized["label"] in ("real", "generated") and resized["ran"] == ran


def test_screenshot_of_the_examples(page, tmp_path):
    page, ran = page
    evaluate(page, "document.getElementById('results').replaceChildren()")
    examples = [(p.name, p.read_bytes()) for p in sorted((ROOT / "examples").glob("*.png"))]
    detect_in_page(page, examples + [("photo-64x64.png", encode(np.zeros((64, 64), np.uint8))),
                                     ("notes.txt", b"not an image\n")])
    shown = evaluate(page, "[...document.querySelectorAll('#results .ran')].map(e => e.textContent)")
    assert shown == [f"run {'in this browser' if ran == 'browser' else 'by the server'}"] * 12
    png = page.get_screenshot_as_png()
    assert png.startswith(b"\x89PNG")
    wanted = os.environ.get("DETECTOR_SCREENSHOT") if ran == "browser" else None
    Path(wanted or tmp_path / "page.png").write_bytes(png)
