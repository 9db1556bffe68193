"""Turn a training checkpoint into ONNX models (+ metadata) that the torch-free detector runs."""
