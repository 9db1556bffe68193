// The fallback when onnxruntime-web is not installed (no `npm ci`): the same answers from the
// server that serves this page, POST /detect with the images as multipart/form-data (the
// model, its decoding and scoring are detector/'s). Images are uploaded to that server.
"use strict";

const RemoteDetector = (() => {
  // GET /model -> the fields the page shows (FmnistDetector.parseInfo's names).
  async function load(modelInfoUrl) {
    const response = await fetch(modelInfoUrl);
    if (!response.ok) throw new Error(`cannot fetch ${modelInfoUrl}: HTTP ${response.status}`);
    const meta = await response.json();
    const [height, width] = meta.image_size;
    return {info: {kind: meta.kind, height, width, labels: meta.labels,
                   positive: meta.positive_label}};
  }

  // Files -> one result each, in order: {label, confidence} or {error}, as detectFiles.
  async function detectFiles(_model, files, resize) {
    const form = new FormData();
    files.forEach((file) => form.append("images", file, file.name));
    const response = await fetch(resize ? "detect?resize=1" : "detect",
                                 {method: "POST", body: form});
    let answer;
    try {
      answer = await response.json();
    } catch (error) {
      answer = {error: `the server answered HTTP ${response.status} without JSON`};
    }
    if (!Array.isArray(answer)) { // the whole request was refused (413: too many, too large)
      return files.map(() => ({error: answer.error || `HTTP ${response.status}`}));
    }
    return answer.map(({name, ...row}) => row);
  }

  return {load, detectFiles};
})();
