"""The PyTorch workspace: train the class-conditional GAN, measure it, train the detector.

Commands (each a module here, `python -m train.<name>`; `--help` lists its flags):
    train           (`python -m train`) train or resume a GAN run        -> __main__.py
    train.evaluate  a run's discriminator accuracy, FIDs, precision/recall -> RUN_DIR/eval.json
    train.report    RUN_DIR/REPORT.md from the run's files
    train.generate  N generated images as PNGs + images.npz
    train.classifier   retrain models/fmnist_classifier.pt (the fast metrics' feature space)
    train.domain_fid   add the fast domain FID to a finished run's metrics.jsonl
    train.detector  fit the real-vs-generated detector on the zoo (or --evaluate it)
    train.wreath    an Advent wreath of generated candles (a seasonal toy)
    train.doc_numbers  check (or --write) the docs' figures against the JSON files they cite

Library, imports going down this list only:
    detection/  the dedicated detector: zoo, networks, fit, calibration, export, evaluation
    gan/        the GAN: config, networks, losses, training loop, EMA, checkpoint, sampling
    metrics/    one metric a module: FID, Inception features, precision/recall, classifier
    run/        the files of a run directory: paths, atomic writes, figures, TensorBoard, ONNX files
    data.py     the training images (--dataset) and their uint8 <-> model-range scaling
    command.py, errors.py   the commands' shared shape and the workspace's exceptions
Below all of them is the torch-free runtime package `detector/`; `export/` sits above `train/`.
"""

__version__ = "0.1.0"
