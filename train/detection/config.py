"""The configuration of `python -m train.detector`: one dataclass, every field a flag."""
from dataclasses import dataclass, field
from pathlib import Path
from typing import Optional

from train.gan.config import _help


@dataclass
class DetectorConfig:
    out: Path = field(default=Path("runs/detector"), metadata=_help(
        "folder for the trained detector's checkpoint (detector.pt) and fit report (fit.json)"))
    export: Path = field(default=Path("models/detector.onnx"), metadata=_help(
        "where to write the ONNX detector (the CLI's default model)"))
    zoo: list[str] = field(default_factory=lambda: ["runs/zoo", "strong_zoo"], metadata=_help(
        "run directories, exported generators' folders (generator.onnx), or folders of either, whose "
        "generators the detector learns from (scripts/train_zoo.sh trains the runs; strong_zoo/ keeps "
        "the strong runs' final generators, the shipped one's included)", nargs="+"))
    data_dir: Optional[Path] = field(default=None, metadata=_help(
        "FashionMNIST folder (as in python -m train); real images come from its training split"))
    evaluate: bool = field(default=False, metadata=_help(
        "instead of training the shipped detector, measure: leave each generator family out, "
        "train without it, test on it; and the shipped --export model on the seed's test"))
    jobs: int = field(default=1, metadata=_help(
        "with --evaluate: held-out families fitted at once, each in a process of its own with its share "
        "of the CPU threads (2 on a 2-core CPU: the CNN is too small to keep two threads busy)"))
    held_out_runs: list[str] = field(default_factory=lambda: ["strong_zoo/recipe-seed1"], metadata=_help(
        "with --evaluate: runs (or exported generators' folders) held out one at a time beside the families, "
        "their family's other runs kept in training (the second seed of the shipped recipe)", nargs="*"))
    held_out_families: list[str] = field(default_factory=list, metadata=_help(
        "with --evaluate: the families to hold out one at a time (default: every family of the zoo), e.g. "
        "those with a strong run in strong_zoo/ (each family held out is one fit of the detector)", nargs="*"))
    report: Path = field(default=Path("docs/detector.md"), metadata=_help(
        "with --evaluate: the report to write (REPORT_results.json beside it, figures/REPORT_*.png below it: "
        "docs/detector_results.json for docs/detector.md)"))
    sanity: bool = field(default=False, metadata=_help(
        "instead of training or measuring, print the sanity battery (train/detection/sanity.py: noise, "
        "flat and damaged real images with known answers) of each --sanity-models model; inference only"))
    sanity_models: list[str] = field(default_factory=lambda: ["detector", "discriminator"], metadata=_help(
        "with --sanity: the ONNX models to check, as python -m detector --model takes them (a name in "
        "models/ or a path)", nargs="+"))
    shipped: bool = field(default=False, metadata=_help(
        "instead of training or measuring the zoo, measure the shipped models as they are now (--export, "
        "models/discriminator.onnx and models/generator.onnx): their hashes, the seed's test, the detector's "
        "real test FPR and the sanity battery, into --shipped-json; inference only"))
    shipped_json: Path = field(default=Path("docs/detector_shipped.json"), metadata=_help(
        "with --shipped: the JSON file to write (the docs cite its figures)"))
    strangers: bool = field(default=False, metadata=_help(
        "instead of training or measuring the zoo, measure the --export detector on each of --stranger-dirs "
        "(train/detection/strangers.py: each part alone, AP, domain FID, held out or not) into "
        "--strangers-json; inference only"))
    stranger_dirs: list[str] = field(default_factory=lambda: ["strong_zoo"], metadata=_help(
        "with --strangers: exported generators' folders (generator.onnx), or folders of them", nargs="+"))
    strangers_json: Path = field(default=Path("docs/strangers.json"), metadata=_help(
        "with --strangers: the JSON file to write (the docs cite its figures)"))
    strangers_doc: Optional[Path] = field(default=None, metadata=_help(
        "with --strangers: put the table into this Markdown file, between its lines <!-- strangers --> "
        "and <!-- /strangers --> (docs/detector.md)"))
    strangers_per_set: int = field(default=10_000, metadata=_help(
        "with --strangers: generated images per stranger, and as many real test images"))
    sanity_per_set: int = field(default=1000, metadata=_help(
        "images in each set of the sanity battery (--sanity, and the sanity section of --evaluate and "
        "--shipped), made from as many real test images"))
    focus: list[str] = field(default_factory=lambda: ["strong_zoo/shipped-recipe"], metadata=_help(
        "runs (or exported generators' folders) whose final generators get --focus-share of the generated "
        "images on top of their family's share: the shipped generator, which the detector must catch (the "
        "seed's test; strong_zoo/shipped-recipe is models/generator.onnx); "
        "left out with its family when --evaluate holds that family out", nargs="*"))
    focus_share: float = field(default=0.5, metadata=_help(
        "fraction of the generated training and calibration images drawn from the --focus runs"))
    generated_train: int = field(default=50_000, metadata=_help(
        "generated training images: --focus-share of them from the --focus runs, the rest shared equally "
        "by the training families"))
    generated_calibration: int = field(default=10_000, metadata=_help(
        "generated images (training families, fresh noise) for the calibration"))
    real_calibration: int = field(default=10_000, metadata=_help(
        "real training-split images held out of training for calibration and the threshold"))
    test_per_family: int = field(default=2_000, metadata=_help(
        "with --evaluate: generated test images per held-out family (its final generators)"))
    target_fpr: float = field(default=0.015, metadata=_help(
        "largest fraction of held-out real (training-split) images the threshold may call generated; "
        "below the 2 %% goal on the test split (calibration.GOAL_REAL_FPR), as test images come out "
        "a little less real-looking (2.25 %% against a 2 %% target in an earlier fit)"))
    real_fpr: float = field(default=0.01, metadata=_help(
        "fraction of held-out real images the real-image model alone may call generated (its share "
        "of --target-fpr)"))
    brightest_jpeg_quality: int = field(default=75, metadata=_help(
        "the zero-shot part (train/detection/zero_shot.py) sets its cut on held-out real images after a "
        "JPEG round trip at this quality, which a real image may have had"))
    brightest_jpeg_budget: float = field(default=0.02, metadata=_help(
        "fraction of those JPEG copies the zero-shot part's cut may call generated (clean real images: none)"))
    brightest_trace_budget: float = field(default=0.02, metadata=_help(
        "fraction of JPEG copies (quality 75 and 95) of held-out real images below the format's floor "
        "(brightest pixel 254) whose JPEG trace may fall short of the zero-shot part's trace cut"))
    top_levels_fpr: float = field(default=0.002, metadata=_help(
        "fraction of held-out real images the top-levels part (train/detection/top_levels.py) may call "
        "generated (its share of --target-fpr)"))
    add_top_levels: Optional[Path] = field(default=None, metadata=_help(
        "instead of training: fit the top-levels part on real images and --focus's generated ones and join "
        "it to this ONNX detector (one fitted before the part existed), writing --export; seconds"))
    add_zero_shot: Optional[Path] = field(default=None, metadata=_help(
        "instead of training: join the zero-shot part, fitted on real images alone, to this ONNX detector "
        "(one fitted before the part existed) and write the result to --export; seconds"))
    epochs: int = field(default=24, metadata=_help("passes of the fingerprint CNN over the real images"))
    batch_size: int = field(default=256, metadata=_help("images per step, half real, half generated"))
    lr: float = field(default=1e-3, metadata=_help("Adam learning rate of the fingerprint CNN"))
    width: int = field(default=32, metadata=_help("base channel count of the fingerprint CNN"))
    components: int = field(default=32, metadata=_help(
        "PCA components of the real-image model (train/detection/real_model.py)"))
    seed: int = field(default=0, metadata=_help("seed of the splits, the noise and the weights"))
    progress: bool = field(default=True, metadata=_help("show tqdm progress bars"))
