// The detector in the browser: models/detector.onnx run by onnxruntime-web (WebAssembly), with
// the preprocessing of detector/images.py and the scoring of detector/scoring.py. The model's
// metadata (image size, normalisation, output name, labels) is read from the .onnx file itself,
// so this page needs no server: only this folder, ort/ and model.onnx. No image is uploaded.
"use strict";

const FmnistDetector = (() => {
  const SCHEMA = "fmnist-detector/1";
  const MAX_FILE_BYTES = 64 * 1024 * 1024; // detector/images.py's limits
  const MAX_PIXELS = 4096 * 4096;

  class InputError extends Error {} // one image cannot be used; the others still get answers

  // Top-level fields of a protobuf message: [field number, number or bytes] pairs.
  function* protoFields(bytes) {
    let pos = 0;
    const varint = () => {
      let value = 0, scale = 1, byte;
      do {
        if (pos >= bytes.length) throw new Error("model file is truncated");
        byte = bytes[pos++];
        value += (byte & 0x7f) * scale;
        scale *= 128;
      } while (byte & 0x80);
      return value;
    };
    while (pos < bytes.length) {
      const key = varint(), field = Math.floor(key / 8), wire = key % 8;
      if (wire === 0) yield [field, varint()];
      else if (wire === 1) pos += 8;
      else if (wire === 5) pos += 4;
      else if (wire === 2) {
        const length = varint();
        yield [field, bytes.subarray(pos, pos + length)];
        pos += length;
      } else throw new Error(`not an ONNX model (protobuf wire type ${wire})`);
    }
  }

  // ModelProto.metadata_props (field 14): StringStringEntryProto {key = 1, value = 2}.
  // onnxruntime-web 1.30 does not expose a model's custom metadata, so it is read here.
  function readMetadata(bytes) {
    const text = new TextDecoder(), meta = {};
    for (const [field, value] of protoFields(bytes)) {
      if (field !== 14) continue;
      const entry = {};
      for (const [f, v] of protoFields(value)) {
        if (v instanceof Uint8Array) entry[f] = text.decode(v);
      }
      if (entry[1] !== undefined) meta[entry[1]] = entry[2] ?? "";
    }
    return meta;
  }

  // The checks of detector/metadata.py, on the same strings.
  function parseInfo(meta) {
    const missing = ["schema", "kind", "image_size", "normalization", "output", "positive_label",
                     "labels"].filter((key) => !(key in meta));
    if (missing.length) throw new Error(`model metadata lacks ${missing.join(", ")}`);
    if (meta.schema !== SCHEMA) throw new Error(`model schema is ${meta.schema}, not ${SCHEMA}`);
    const [height, width] = JSON.parse(meta.image_size);
    const {scale, offset} = JSON.parse(meta.normalization);
    const labels = JSON.parse(meta.labels), positive = meta.positive_label;
    if (!(height > 0 && width > 0) || typeof scale !== "number" || typeof offset !== "number"
        || labels.length !== 2 || !labels.includes(positive)) {
      throw new Error("model metadata breaks the fmnist-detector/1 contract");
    }
    const negative = labels[0] === positive ? labels[1] : labels[0];
    const classNames = meta.class_names ? JSON.parse(meta.class_names) : [];
    return {kind: meta.kind, height, width, scale, offset, output: meta.output, positive,
            negative, labels, classNames};
  }

  async function load(modelUrl, ortBase) {
    ort.env.wasm.wasmPaths = ortBase; // an absolute URL path: a relative one fails on the .mjs
    ort.env.wasm.numThreads = 1; // threads need cross-origin isolation; 28x28 needs none
    const response = await fetch(modelUrl);
    if (!response.ok) throw new Error(`cannot fetch ${modelUrl}: HTTP ${response.status}`);
    const bytes = new Uint8Array(await response.arrayBuffer());
    const info = parseInfo(readMetadata(bytes));
    const session = await ort.InferenceSession.create(bytes, {executionProviders: ["wasm"]});
    return {info, session};
  }

  // A File/Blob -> Uint8Array of H*W gray pixels, as detector/images.py's load_pixels:
  // luma by Pillow's fixed-point ITU-R 601-2 formula, transparency on black, EXIF orientation.
  async function pixelsOf(file, info, resize) {
    if (file.size > MAX_FILE_BYTES) throw new InputError("file is larger than 64 MiB");
    let bitmap;
    try { // colorSpaceConversion "none": the stored values, as Pillow reads them
      bitmap = await createImageBitmap(file, {colorSpaceConversion: "none",
                                              imageOrientation: "from-image"});
    } catch (error) {
      throw new InputError("not an image this browser can decode (PNG, JPEG, GIF, BMP, WebP)");
    }
    const {width: w, height: h} = bitmap;
    if (w * h > MAX_PIXELS) {
      throw new InputError(`image is ${w}x${h}, more than the ${MAX_PIXELS} pixels allowed`);
    }
    if ((w !== info.width || h !== info.height) && !resize) {
      throw new InputError(`image is ${w}x${h}, expected ${info.width}x${info.height} ` +
                           `(FashionMNIST format); tick "resize" to scale it`);
    }
    return grayPixels(bitmap, info.width, info.height);
  }

  function grayPixels(bitmap, width, height) {
    const canvas = new OffscreenCanvas(width, height);
    const context = canvas.getContext("2d", {willReadFrequently: true});
    context.fillStyle = "#000"; // transparency is composited onto black, the background
    context.fillRect(0, 0, width, height);
    context.imageSmoothingQuality = "high"; // only used with resize (Pillow uses Lanczos)
    context.drawImage(bitmap, 0, 0, width, height);
    bitmap.close();
    const rgba = context.getImageData(0, 0, width, height).data;
    const gray = new Uint8Array(width * height);
    // Pillow's convert("L") in fixed point; (299 R + 587 G + 114 B) / 1000 rounds 0.05 % otherwise.
    for (let i = 0; i < gray.length; i++) {
      const [r, g, b] = [rgba[4 * i], rgba[4 * i + 1], rgba[4 * i + 2]];
      gray[i] = (r * 19595 + g * 38470 + b * 7471 + 0x8000) >>> 16;
    }
    return gray;
  }

  // Run decoded images in one batch; confidence = P(printed label), as detector/scoring.py.
  async function score(model, images) {
    const {info, session} = model, size = info.width * info.height;
    const table = new Float32Array(256).map((_, v) => v * info.scale + info.offset);
    const input = new Float32Array(images.length * size);
    images.forEach((pixels, n) => pixels.forEach((v, i) => { input[n * size + i] = table[v]; }));
    const shape = [images.length, 1, info.height, info.width];
    // The model's one input, by the name the server checked it has (detector.metadata.INPUT_NAME).
    const feeds = {[session.inputNames[0]]: new ort.Tensor("float32", input, shape)};
    const logits = (await session.run(feeds))[info.output].data;
    return Array.from(logits, (logit) => {
      if (Number.isNaN(logit)) return {error: "model returned NaN for this image"};
      const confidence = 1 / (1 + Math.exp(-Math.abs(logit)));
      return {label: logit >= 0 ? info.positive : info.negative, confidence, logit};
    });
  }

  // Files -> one result each, in order: {label, confidence, logit} or {error}.
  async function detectFiles(model, files, resize) {
    const decoded = await Promise.all(files.map((file) => pixelsOf(file, model.info, resize)
      .catch((error) => (error instanceof InputError ? error : Promise.reject(error)))));
    const good = decoded.filter((d) => !(d instanceof InputError));
    const scores = good.length ? await score(model, good) : [];
    let next = 0;
    return decoded.map((d) => (d instanceof InputError ? {error: d.message} : scores[next++]));
  }

  return {load, detectFiles, readMetadata, parseInfo, InputError};
})();
