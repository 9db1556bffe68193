"""Export the discriminator's label-free head and the generator to ONNX, and check them.

Each model is written to a temporary file and checked (train.run.onnx_file); both are renamed
over the old ones only once both passed, so a failing export never replaces a good model.
"""
import json
import tempfile
from pathlib import Path

import torch
from torch import nn

from detector.metadata import (contract_metadata, GENERATOR_OUTPUT, INPUT_NAME, LABELS_INPUT, NOISE_INPUT,
                               REAL_LOGIT)
from train.data import evaluation_images, image_shape, to_model_range
from train.gan.checkpoint import (generator_weights, is_unconditional, load_checkpoint,
    networks_from_checkpoint)
from train.gan.networks import Generator, RealLogit
from train.run.atomic import write_text_atomic
from train.run.onnx_file import install, OPSET, stamp, write_checked

from .config import ExportConfig
from .errors import ExportError


def base_metadata(checkpoint: dict, source: Path) -> dict:
    """What both models carry beside their kind: where they came from, their classes."""
    config = checkpoint["config"]
    return {"class_names": checkpoint["class_names"],
            "run": str(config.get("run_dir", source.parent.parent)), "checkpoint": source.name,
            "step": checkpoint["step"], "conditional": not is_unconditional(checkpoint), **stamp()}


def discriminator_metadata(base: dict) -> dict:
    return contract_metadata("discriminator", **base)


def generator_metadata(base: dict, train_config, weights: str) -> dict:
    """`generator_weights`: "ema" (the run's moving average, --ema) or "raw" (the trained ones);
    `architecture`: the run's --generator (train.gan.networks.GENERATORS), `loss` its --loss (with
    the two, the detector's zoo names the generator's family: train.detection.zoo.family_name).
    An unconditional generator (`"conditional": "false"`) has no `labels` input: noise only."""
    inputs = {NOISE_INPUT: "float32 [N, latent_dim] ~ N(0, 1)"}
    if base["conditional"]:
        inputs[LABELS_INPUT] = "int64 [N] class index"
    return contract_metadata("generator", output=GENERATOR_OUTPUT, latent_dim=train_config.latent_dim,
                             architecture=train_config.generator, loss=train_config.loss, generator_weights=weights,
                             inputs=inputs, **base)


class GeneratorGraph(nn.Module):
    """The generator with named inputs, so the ONNX graph reads `noise`, `labels` -> `image`."""

    def __init__(self, generator: Generator):
        super().__init__()
        self.generator = generator

    def forward(self, noise: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
        return self.generator(noise, labels)


class UnconditionalGeneratorGraph(nn.Module):
    """An --unconditional generator as `noise` -> `image`: its one pseudo-class (label 0) is
    supplied inside the graph, so the ONNX model has no labels input."""

    def __init__(self, generator: Generator):
        super().__init__()
        self.generator = generator

    def forward(self, noise: torch.Tensor) -> torch.Tensor:
        return self.generator(noise, torch.zeros(noise.shape[0], dtype=torch.int64, device=noise.device))


def generator_graph(generator: Generator, g_inputs: dict, unconditional: bool) -> tuple[nn.Module, dict]:
    """The module to export and its parity inputs: noise and labels, or noise alone."""
    if unconditional:
        return UnconditionalGeneratorGraph(generator), {NOISE_INPUT: g_inputs[NOISE_INPUT]}
    return GeneratorGraph(generator), g_inputs


def parity_inputs(generator: Generator, config: ExportConfig, train_config) -> tuple[dict, dict]:
    """Real images of the run's dataset (its test split; npy: its training images) and generated
    ones for the discriminator; noise+labels for the generator."""
    gen = torch.Generator().manual_seed(config.seed)
    test, _ = evaluation_images(train_config, config.data_dir)
    latent_dim = train_config.latent_dim
    pick = torch.randperm(len(test), generator=gen)[: config.parity_images]
    noise = torch.randn(config.parity_images, latent_dim, generator=gen)
    labels = torch.randint(0, generator.num_classes, (config.parity_images,), generator=gen)
    with torch.no_grad():
        generated = generator.eval()(noise, labels)
    images = torch.cat([to_model_range(test.images[pick]), generated])
    return {INPUT_NAME: images}, {NOISE_INPUT: noise, LABELS_INPUT: labels}


def export_run(config: ExportConfig) -> dict:
    """Export, check and install both models; returns the report written to export.json."""
    config.check()
    source, out = config.checkpoint_path(), config.out_dir()
    checkpoint = load_checkpoint(source)
    generator, discriminator, train_config = networks_from_checkpoint(checkpoint)
    base = base_metadata(checkpoint, source)
    channels, size = image_shape(train_config)  # grey 28×28 models: the contract's defaults
    base.update(image_size=(size, size), channels=channels)
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        raise ExportError(f"cannot make the folder for the models, {out}: {e.strerror or e}") from None
    d_inputs, g_inputs = parity_inputs(generator, config, train_config)
    g_module, g_inputs = generator_graph(generator, g_inputs, is_unconditional(checkpoint))
    jobs = [("discriminator", RealLogit(discriminator), d_inputs, REAL_LOGIT, discriminator_metadata(base)),
            ("generator", g_module, g_inputs, GENERATOR_OUTPUT,
             generator_metadata(base, train_config, generator_weights(checkpoint)))]
    report = {"checkpoint": str(source), "step": checkpoint["step"], "opset": OPSET,
              "generator_weights": generator_weights(checkpoint),
              "tolerance": config.tolerance, "models": {}}
    with tempfile.TemporaryDirectory(dir=out) as tmp_dir:
        written = []
        for name, module, inputs, output, metadata in jobs:
            tmp = Path(tmp_dir) / f"{name}.onnx"
            difference = write_checked(module, inputs, output, tmp, metadata)
            if not difference <= config.tolerance:
                raise ExportError(f"{name}: ONNX and PyTorch differ by {difference:.2e} > "
                                  f"{config.tolerance:.0e}; nothing was written to {out}")
            report["models"][name] = {"file": f"{name}.onnx", "max_abs_difference": difference,
                                      "parity_inputs": len(next(iter(inputs.values())))}
            written.append(tmp)
        for tmp in written:  # only once both passed
            install(tmp, out / tmp.name)
    write_text_atomic(out / "export.json", json.dumps(report, indent=2) + "\n")
    return report
