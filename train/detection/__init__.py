"""Train the dedicated real-vs-generated detector, the library behind `python -m train.detector`.

    scripts/train_zoo.sh                          # the generator zoo (runs/zoo)
    python -m train.detector                      # fit on every family, write models/detector.onnx
    python -m train.detector --evaluate           # leave-one-family-out, writes docs/detector.md
    python -m train.detector --shipped            # the shipped models now, docs/detector_shipped.json
    python -m train.detector --strangers          # the shipped detector on strong_zoo/, docs/strangers.json

Modules, imports going down this list only:
    train_detector.py  fit on every family of the zoo and ship it (`python -m train.detector`), or join
                    a part to an older detector (--add-zero-shot, --add-top-levels)
    strangers.py    the detector and each part alone on strong generators (`--strangers`)
    shipped.py      the shipped models as they are, inference only (`python -m train.detector --shipped`)
    evaluate.py     leave-one-family-out measurement (`python -m train.detector --evaluate`)
    report.py       docs/detector.md, docs/detector_results.json and figures from those results
    export.py       the fitted detector as a checkpoint and models/detector.onnx (+ metadata)
    fit.py          the fit: real-image model, zero-shot and top-levels parts, fingerprint CNN, calibration
    zoo.py          find the trained GAN runs, group them into families, sample them
    model.py        the networks: FingerprintCNN and the DetectorNet combining it with the other parts
    real_model.py   RealStatistics: what real images look like, fitted on real images alone
    zero_shot.py    BrightestLevel: the brightest pixel every FashionMNIST image has (real images alone)
    top_levels.py   TopLevels: how the brightest levels sit, real against generated, above that floor
    augment.py      augmentations applied alike to real and generated training images (shift, JPEG)
    calibration.py  pure numpy: the threshold, calibration curve and detection scores
    sanity.py       the sanity battery: image sets with known answers (noise, flat, real, damaged real)
    config.py       DetectorConfig, the flags of `python -m train.detector`
The command itself is train/detector.py.
"""
