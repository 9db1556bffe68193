"""The dedicated real-vs-generated detector, trained to generalise across GANs (the library
behind `python -m train.detector`, whose command is train/detector.py).

    scripts/train_zoo.sh                          # the generator zoo (runs/zoo)
    python -m train.detector                      # fit on every family, write models/detector.onnx
    python -m train.detector --evaluate           # leave-one-family-out, writes docs/detector.md

zoo.py finds and samples the generators, model.py holds the networks, augment.py the
augmentations, fit.py the fit, calibration.py the pure-numpy threshold and metrics,
export.py the ONNX file, evaluate.py the report.
"""
