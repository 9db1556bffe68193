// The page: pick or drop images, show each one's thumbnail, label and confidence.
// window.detectFiles([{name, base64}]) is the same path for tests (tests/detector/test_web.py).
"use strict";

const ORT_BASE = new URL("ort/", document.baseURI).pathname;
const modelReady = FmnistDetector.load("model.onnx", ORT_BASE);
const $ = (id) => document.getElementById(id);

modelReady.then(({info}) => {
  $("expects").textContent = `${info.width}\u00d7${info.height} grayscale`;
  $("status").textContent =
    `Model ready: ${info.kind}, ${info.width}\u00d7${info.height} images, ` +
    `labels ${info.labels.join(" / ")}. Other sizes are refused unless "resize" is ticked.`;
}, (error) => {
  $("status").textContent = `The model could not be loaded: ${error.message}`;
  $("status").classList.add("failed");
});

async function detectAndShow(files) {
  const model = await modelReady;
  const results = await FmnistDetector.detectFiles(model, files, $("resize").checked);
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
  text.innerHTML = `<div class="label"></div><div class="name"></div>`;
  text.querySelector(".label").textContent = label;
  text.querySelector(".name").textContent = file.name;
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

// Test hook: [{name, base64}] -> [{name, label, confidence, logit} | {name, error}].
window.detectFiles = async (items, {resize = false} = {}) => {
  $("resize").checked = resize;
  const files = items.map(({name, base64}) => new File(
    [Uint8Array.from(atob(base64), (c) => c.charCodeAt(0))], name));
  const results = await detectAndShow(files);
  return results.map((result, i) => ({name: items[i].name, ...result}));
};
window.modelInfo = () => modelReady.then(({info}) => info);

watchDrops();
