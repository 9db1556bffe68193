"""Every --generator kind (train.gan.networks.GENERATORS) end to end on the tiny data: train a few
steps, export, parity."""
import numpy as np
import onnxruntime as ort
import pytest
import torch

from export.config import ExportConfig
from export.onnx_export import export_run
from train.errors import CheckpointError
from train.gan.checkpoint import load_checkpoint, networks_from_checkpoint
from train.gan.config import TrainConfig
from train.gan.networks import GENERATORS
from train.gan.trainer import train
from train.run.rundir import RunDir


def tiny_config(run_dir, data_dir, kind, **more):
    options = dict(run_dir=run_dir, data_dir=data_dir, epochs=1, max_steps=2, batch_size=16, width=8,
                   latent_dim=8, device="cpu", progress=False, domain_fid_every=0, generator=kind)
    return TrainConfig(**{**options, **more})


@pytest.mark.parametrize("kind", sorted(GENERATORS))
def test_generator_kind_trains_exports_and_matches_torch(kind, tmp_path, tiny_data_dir):
    run_dir = tmp_path / kind
    train(tiny_config(run_dir, tiny_data_dir, kind))
    checkpoint = load_checkpoint(RunDir(run_dir).latest)
    assert checkpoint["config"]["generator"] == kind
    export_run(ExportConfig(run_dir=run_dir, out=tmp_path / "models", data_dir=tiny_data_dir))
    generator, _, _ = networks_from_checkpoint(checkpoint)
    noise, labels = torch.randn(5, 8), torch.arange(5)
    session = ort.InferenceSession(str(tmp_path / "models" / "generator.onnx"), providers=["CPUExecutionProvider"])
    names = [i.name for i in session.get_inputs()]
    feeds = {names[0]: noise.numpy(), names[1]: labels.numpy()}
    onnx_images = session.run(None, feeds)[0]
    np.testing.assert_allclose(onnx_images.reshape(5, -1), generator(noise, labels).detach().numpy().reshape(5, -1),
                               atol=1e-4)
    meta = session.get_modelmeta().custom_metadata_map
    assert meta["architecture"] == kind


def test_resume_with_another_generator_kind_names_the_field(tmp_path, tiny_data_dir):
    run_dir = tmp_path / "run"
    train(tiny_config(run_dir, tiny_data_dir, "mlp"))
    with pytest.raises(CheckpointError, match="generator: checkpoint 'mlp', now 'upsample'"):
        train(tiny_config(run_dir, tiny_data_dir, "upsample", resume=True, max_steps=4))
