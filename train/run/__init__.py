"""The files of one run directory: where each lives, atomic writes, figures, TensorBoard;
and ONNX model files (onnx_file: write, check against PyTorch, install)."""
