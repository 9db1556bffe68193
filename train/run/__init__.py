"""The files of one run directory: where each lives, atomic writes, figures, TensorBoard, ONNX.

    rundir.py           RunDir: the paths of a run's files; preparing and resuming the folder
    metrics_log.py      metrics.jsonl: the row keys and their meaning, append, read, truncate
    atomic.py           whole-or-nothing writes (text, torch.save, any writer)
    figures.py          loss curves, sample grids and pairs.png
    tensorboard_log.py  --tensorboard: the same scalars and grids as event files
    onnx_file.py        ONNX model files: write with metadata, check against PyTorch, install
"""
