"""The files of one run directory: where each lives, atomic writes, figures, TensorBoard, ONNX.

    rundir.py           RunDir: the paths of a run's files, and reading metrics.jsonl back
    figures.py          loss curves, sample grids and pairs.png
    tensorboard_log.py  --tensorboard: the same scalars and grids as event files
    atomic.py           whole-or-nothing writes of text files
    onnx_file.py        ONNX model files: write with metadata, check against PyTorch, install
"""
