"""--unconditional end to end on the tiny data: train, generate, evaluate, export, examples."""
import json

import onnxruntime as ort
import pytest
import torch

from export.config import ExportConfig
from export.examples import ExamplesConfig, write_examples
from export.onnx_export import export_run
from train.errors import TrainError
from train.evaluate import evaluate_run, EvaluateConfig
from train.gan.checkpoint import load_checkpoint, networks_from_checkpoint
from train.gan.config import TrainConfig
from train.gan.trainer import train
from train.generate import generate_run, GenerateConfig
from train.run.rundir import RunDir


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory, tiny_data_dir):
    """A 3-step --unconditional run of the small model."""
    run_dir = tmp_path_factory.mktemp("runs") / "unconditional"
    train(TrainConfig(run_dir=run_dir, data_dir=tiny_data_dir, epochs=1, max_steps=3, batch_size=16,
                      width=8, latent_dim=8, device="cpu", progress=False, domain_fid_every=0,
                      unconditional=True))
    return run_dir


def metadata(path):
    return ort.InferenceSession(str(path), providers=["CPUExecutionProvider"]).get_modelmeta().custom_metadata_map


def test_unconditional_run_writes_the_run_dir_and_records_it(run_dir):
    run = RunDir(run_dir)
    for path in (run.config, run.metrics, run.latest, run.sample_grid(1), run.loss_curves, run.pairs):
        assert path.is_file(), path
    checkpoint = load_checkpoint(run.latest)
    assert checkpoint["config"]["unconditional"] is True and checkpoint["step"] == 3
    assert json.loads(run.config.read_text())["unconditional"] is True
    assert checkpoint["fixed_labels"].eq(0).all()


def test_unconditional_networks_have_one_class_so_no_class_term(run_dir):
    generator, discriminator, _ = networks_from_checkpoint(load_checkpoint(RunDir(run_dir).latest))
    assert generator.num_classes == 1 and generator.norm1.scale.num_embeddings == 1
    assert discriminator.class_head.out_features == 1
    logits = torch.randn(5, 1, requires_grad=True)  # a one-logit class head: cross-entropy 0
    loss = torch.nn.functional.cross_entropy(logits, torch.zeros(5, dtype=torch.int64))
    loss.backward()
    assert loss.item() == 0 and logits.grad.abs().max() == 0


def test_generate_refuses_class_for_an_unconditional_run(run_dir, tmp_path):
    with pytest.raises(TrainError, match="--unconditional"):
        generate_run(GenerateConfig(run_dir=run_dir, out=tmp_path / "g", n=4, class_="0",
                                    device="cpu", progress=False))
    summary = generate_run(GenerateConfig(run_dir=run_dir, out=tmp_path / "g", n=4, device="cpu",
                                          progress=False))
    assert summary["per_class"] == {"unconditional": 4}


def test_evaluate_skips_per_class_generated_metrics_with_a_note(run_dir, tiny_data_dir):
    result = evaluate_run(EvaluateConfig(run_dir=run_dir, data_dir=tiny_data_dir, accuracy_samples=32,
                                         fid_samples=0, device="cpu", progress=False,
                                         model=run_dir / "no-such.onnx"))
    acc = result["discriminator_accuracy"]
    assert "unconditional" in acc["per_class_note"]
    assert all(row["n_generated"] == 0 for row in acc["pytorch"]["per_class"].values())
    assert acc["pytorch"]["n_generated"] == 32
    assert "unconditional" in result["domain"]["skipped"]


def test_export_says_conditional_false_and_has_no_labels_input(run_dir, tiny_data_dir, tmp_path):
    out = tmp_path / "models"
    report = export_run(ExportConfig(run_dir=run_dir, out=out, data_dir=tiny_data_dir, parity_images=16))
    assert all(m["max_abs_difference"] <= report["tolerance"] for m in report["models"].values())
    for name in ("generator", "discriminator"):
        assert metadata(out / f"{name}.onnx")["conditional"] == "false"
    generator_meta = metadata(out / "generator.onnx")
    assert list(json.loads(generator_meta["inputs"])) == ["noise"]
    session = ort.InferenceSession(str(out / "generator.onnx"), providers=["CPUExecutionProvider"])
    assert [i.name for i in session.get_inputs()] == ["noise"]
    written = write_examples(ExamplesConfig(models=out, out=tmp_path / "ex", data_dir=tiny_data_dir,
                                            per_kind=2))
    assert sorted(p.name for p in written if p.name.startswith("generated")) == ["generated_1.png",
                                                                                  "generated_2.png"]
