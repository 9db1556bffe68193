import pytest

from train.detection.config import DetectorConfig
from train.detection.fit import focus_generators
from train.detection.zoo import family_of, find_runs, run_generators, sample_zoo, shares, zoo_generators
from train.errors import TrainError
from train.gan.config import DCGAN_RECIPE, TrainConfig


@pytest.mark.parametrize("options, family", [
    ({}, "convtranspose-ns"), ({"loss": "hinge"}, "convtranspose-hinge"),
    ({"generator": "mlp", "loss": "wgan-gp"}, "mlp-wgan-gp"),
    ({"generator": "upsample", "unconditional": True}, "upsample-ns-unconditional"),
    ({"ema": 0.999, "seed": 3}, "convtranspose-ns"),  # EMA and seeds vary within a family
])
def test_family_is_what_built_the_generator(options, family):
    config = TrainConfig(**{**DCGAN_RECIPE, **options})  # not today's defaults: a fixed base
    assert family_of({"config": config.to_json()}) == family


def test_zoo_lists_every_snapshot_with_ema_and_raw_weights(tiny_zoo):
    generators = zoo_generators([tiny_zoo])
    assert sorted({g.family for g in generators}) == ["convtranspose-ns", "convtranspose-ns-unconditional", "mlp-ns"]
    ema_run = [g for g in generators if g.checkpoint.parent.parent.name == "a"]
    # latest.pt repeats epoch 2, so it is left out; each snapshot twice: raw and EMA weights
    assert sorted((g.checkpoint.name, g.ema) for g in ema_run) == [
        ("epoch_001.pt", False), ("epoch_001.pt", True), ("epoch_002.pt", False), ("epoch_002.pt", True)]
    assert [g.final for g in ema_run if g.checkpoint.name == "epoch_002.pt"] == [True, True]
    assert not any(g.final for g in ema_run if g.checkpoint.name == "epoch_001.pt")


def test_a_run_and_a_folder_of_runs_are_both_accepted(tiny_zoo):
    assert find_runs([tiny_zoo / "b", tiny_zoo]) == [tiny_zoo / "b", tiny_zoo / "a", tiny_zoo / "b", tiny_zoo / "c"]
    assert all(g.family == "mlp-ns" for g in run_generators(tiny_zoo / "b"))


@pytest.mark.parametrize("make", ["missing", "empty"])
def test_no_runs_says_how_to_train_them(tmp_path, make):
    path = tmp_path / "zoo"
    if make == "empty":
        path.mkdir()
    with pytest.raises(TrainError, match="train_zoo.sh" if make == "empty" else "neither a run"):
        find_runs([path])


def test_sampling_spreads_images_over_generators_and_repeats_with_the_seed(tiny_zoo):
    generators = zoo_generators([tiny_zoo])[:3]
    images, sources = sample_zoo(generators, 10, seed=5)
    assert images.shape == (10, 28, 28) and images.dtype.name == "uint8"
    assert sources.tolist() == [0, 0, 0, 0, 1, 1, 1, 2, 2, 2]
    again, _ = sample_zoo(generators, 10, seed=5)
    other, _ = sample_zoo(generators, 10, seed=6)
    assert (images == again).all() and not (images == other).all()


@pytest.mark.parametrize("n, weights, expected", [
    (10, [1, 1, 1], [4, 3, 3]), (10, [0.25, 0.5, 1.0], [1, 3, 6]), (7, [1, 0], [7, 0]), (0, [1, 2], [0, 0])])
def test_shares_are_whole_proportional_and_add_up(n, weights, expected):
    assert shares(n, weights).tolist() == expected


def test_snapshots_know_how_far_into_their_run_they_are(tiny_zoo):
    raw = [g for g in run_generators(tiny_zoo / "b")]
    assert [(g.checkpoint.name, g.progress) for g in raw] == [("epoch_001.pt", 0.5), ("epoch_002.pt", 1.0)]


@pytest.fixture(scope="module")
def exported_zoo(tmp_path_factory, tiny_zoo, detector_data_dir):
    """The tiny zoo's EMA run (convtranspose-ns) and unconditional run exported as python -m
    export writes them, in a folder of their own."""
    from export.config import ExportConfig
    from export.onnx_export import export_run
    folder = tmp_path_factory.mktemp("strong_zoo")
    for run in ("a", "c"):
        export_run(ExportConfig(run_dir=tiny_zoo / run, out=folder / run, data_dir=detector_data_dir, parity_images=8))
    return folder


def test_an_exported_generator_is_a_final_zoo_member_of_its_runs_family(exported_zoo):
    generators = zoo_generators([exported_zoo])
    assert [(g.name, g.family, g.ema, g.final) for g in generators] == [
        ("a/onnx", "convtranspose-ns", True, True), ("c/onnx", "convtranspose-ns-unconditional", False, True)]


def test_an_exported_generator_draws_as_many_images_as_asked_and_repeats_with_the_seed(exported_zoo):
    images, sources = sample_zoo(zoo_generators([exported_zoo / "a"]), 7, seed=3)
    again, _ = sample_zoo(zoo_generators([exported_zoo / "a"]), 7, seed=3)
    assert images.shape == (7, 28, 28) and images.dtype.name == "uint8" and (images == again).all()


def test_an_export_without_the_loss_key_is_refused_naming_the_file(exported_zoo, tmp_path):
    import onnx
    model = onnx.load(str(exported_zoo / "a" / "generator.onnx"))
    kept = [p for p in model.metadata_props if p.key != "loss"]
    del model.metadata_props[:]
    model.metadata_props.extend(kept)
    (tmp_path / "old").mkdir()
    onnx.save(model, str(tmp_path / "old" / "generator.onnx"))
    with pytest.raises(TrainError, match="no `loss`.*export the run again"):
        zoo_generators([tmp_path / "old"])


def test_focus_takes_an_exported_generators_folder_as_it_takes_a_run(exported_zoo):
    generators = zoo_generators([exported_zoo])
    chosen = focus_generators(DetectorConfig(focus=[str(exported_zoo / "c")]), generators)
    assert [g.name for g in chosen] == ["c/onnx"] and chosen[0].run_dir == exported_zoo / "c"
