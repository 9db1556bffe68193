// The page: pick or drop images, show each one's thumbnail, label and confidence, and which
// of the two ran it: onnxruntime-web in this browser (detect.js) when the server has it
// (`npm ci --prefix detector/web`), else the server's POST /detect (remote.js).
// window.detectFiles([{name, base64}]) is the same path for tests (tests/detector/test_web.py).
"use strict";

const ORT_BASE = new URL("ort/", document.baseURI).pathname;
const $ = (id) => document.getElementById(id);
// ort/ort.wasm.min.js did not load (404 without node_modules): score on the server instead.
const RAN = typeof ort === "undefined" ? "server" : "browser";
const RUNNER = RAN === "browser" ? FmnistDetector : RemoteDetector;
const RAN_TEXT = {browser: "run in this browser", server: "run by the server"};
const modelReady = RAN === "browser" ? FmnistDetector.load("model.onnx", ORT_BASE)
                                     : RemoteDetector.load("model");

$("where").innerHTML = RAN === "browser"
  ? "The model runs <strong>in this browser</strong> (onnxruntime-web): no image leaves this machine."
  : "onnxruntime-web is not installed with this server (<code>npm ci --prefix detector/web</code>), " +
    "so each image is <strong>sent to the server</strong> (<code>POST /detect</code>) and scored there.";
$("resize-note").textContent = RAN === "browser"
  ? "(the browser's smoothing, not Pillow's Lanczos: answers may differ slightly from the CLI's)"
  : "(Pillow's Lanczos, as the CLI's --resize)";

modelReady.then(({info}) => {
  $("expects").textContent = `${info.width}\u00d7${info.height} grayscale`;
  $("status").textContent =
    `Model ready (${RAN_TEXT[RAN]}): ${info.kind}, ${info.width}\u00d7${info.height} images, ` +
    `labels ${info.labels.join(" / ")}. Other sizes are refused unless "resize" is ticked.`;
}, (error) => {
  $("status").textContent = `The model could not be loaded: ${error.message}`;
  $("status").classList.add("failed");
});

async function detectAndShow(files) {
  const model = await modelReady;
  const results = (await RUNNER.detectFiles(model, files, $("resize").checked))
    .map((result) => ({...result, ran: RAN}));
  files.forEach((file, i) => $("results").append(card(file, results[i])));
  return results;
}

function card(file, result) {
  const item = document.createElement("li");
  item.className = result.error ? "error" : result.label;
  const thumbnail = document.createElement("img");
  thumbnail.alt = "";
  thumbnail.src = URL.createObjectURL(file); // a wrong-size image still shows itself
  thumbnail.onerror = () => thumbnail.replaceWith(placeholder());
  const text = document.createElement("div");
  const label = result.error ? result.error : `${result.label} ${result.confidence.toFixed(4)}`;
  text.innerHTML = `<div class="label"></div><div class="name"></div><div class="ran"></div>`;
  text.querySelector(".label").textContent = label;
  text.querySelector(".name").textContent = file.name;
  text.querySelector(".ran").textContent = RAN_TEXT[result.ran];
  item.append(thumbnail, text);
  return item;
}

function placeholder() {
  const box = document.createElement("div");
  box.className = "placeholder";
  box.textContent = "?";
  return box;
}

function showFailure(error) {
  $("status").textContent = `Scoring failed: ${error.message}`;
  $("status").classList.add("failed");
}

function watchDrops() {
  const drop = $("drop");
  $("files").addEventListener("change",
    (event) => detectAndShow([...event.target.files]).catch(showFailure));
  drop.addEventListener("dragover", (event) => {
    event.preventDefault();
    drop.classList.add("over");
  });
  drop.addEventListener("dragleave", () => drop.classList.remove("over"));
  drop.addEventListener("drop", (event) => {
    event.preventDefault();
    drop.classList.remove("over");
    detectAndShow([...event.dataTransfer.files]).catch(showFailure);
  });
}

// Test hook: [{name, base64}] -> [{name, label, confidence, logit, ran} | {name, error, ran}]
// (no logit from the server; ran: "browser" or "server").
window.detectFiles = async (items, {resize = false} = {}) => {
  $("resize").checked = resize;
  const files = items.map(({name, base64}) => new File(
    [Uint8Array.from(atob(base64), (c) => c.charCodeAt(0))], name));
  const results = await detectAndShow(files);
  return results.map((result, i) => ({name: items[i].name, ...result}));
};
window.modelInfo = () => modelReady.then(({info}) => info);

watchDrops();
