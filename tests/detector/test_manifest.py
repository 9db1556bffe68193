"""Shipped models are verified: models/manifest.json holds each file's sha256, a damaged copy is
refused naming the file and how to restore it, and a user's own file only with --sha256."""
import hashlib
import json
import shutil
from pathlib import Path

import pytest

from detector import load_detector, ModelError, model as model_module
from detector.manifest import check_sha256, file_sha256, MANIFEST, read_manifest, record

REPO = Path(__file__).resolve().parents[2]
SHIPPED = ("detector.onnx", "discriminator.onnx", "generator.onnx")
EXAMPLE = REPO / "examples" / "real_coat.png"


@pytest.fixture
def models_copy(tmp_path, monkeypatch):
    """A copy of the shipped models/ folder (the detector, the discriminator and the manifest),
    found where the shipped one is."""
    folder = tmp_path / "repo" / "models"
    folder.mkdir(parents=True)
    for name in ("detector.onnx", "discriminator.onnx", MANIFEST):
        shutil.copy(REPO / "models" / name, folder / name)
    monkeypatch.setattr(model_module, "MODELS_DIR", folder)
    return folder


def flip_byte(path: Path, at: float = 0.5) -> None:
    data = bytearray(path.read_bytes())
    data[int(len(data) * at)] ^= 0x01
    path.write_bytes(bytes(data))


def test_the_manifest_names_every_shipped_model_by_its_sha256():
    files = read_manifest(REPO / "models")
    assert set(files) == set(SHIPPED)
    for name in SHIPPED:
        assert files[name] == hashlib.sha256((REPO / "models" / name).read_bytes()).hexdigest()


@pytest.mark.parametrize("at", [0.0, 0.5, 0.999])
@pytest.mark.parametrize("model", [None, "detector"])
def test_a_flipped_byte_is_refused_naming_the_file_and_the_fix(models_copy, cli, model, at):
    flip_byte(models_copy / "detector.onnx", at)
    argv = ([] if model is None else ["--model", model]) + [EXAMPLE]
    code, out, err = cli(*argv)
    assert code == 1  # as for a bad model
    message = json.loads(out)["error"]
    assert message == err.strip().removeprefix("detector: ")
    assert str(models_copy / "detector.onnx") in message and "damaged or replaced" in message
    assert f"git -C {models_copy.parent} checkout -- models/detector.onnx" in message
    assert "\n" not in message


def test_a_path_into_models_is_checked_too(models_copy):
    flip_byte(models_copy / "discriminator.onnx")
    with pytest.raises(ModelError, match="discriminator.onnx: damaged or replaced"):
        load_detector(models_copy / "discriminator.onnx")
    assert load_detector("detector").info.kind == "detector"  # the other file is intact


def test_an_intact_copy_answers(models_copy, cli):
    code, out, _ = cli(EXAMPLE)
    assert code == 0 and json.loads(out)["label"] == "real"


@pytest.mark.parametrize("content, why", [(None, "is missing"), ("{not json", "unreadable"),
                                          ('{"files": ["detector.onnx"]}', "must map")])
def test_a_missing_or_broken_manifest_is_refused(models_copy, content, why):
    manifest = models_copy / MANIFEST
    manifest.unlink() if content is None else manifest.write_text(content)
    with pytest.raises(ModelError, match=why) as info:
        load_detector()
    assert f"checkout -- models/{MANIFEST}" in str(info.value)


def test_a_model_the_manifest_does_not_list_is_not_checked(models_copy, helpers):
    helpers.write_model(models_copy / "mine.onnx")
    assert load_detector("mine").info.kind == "discriminator"


def test_own_model_is_unchecked_unless_a_hash_is_given(tmp_path, helpers, cli):
    model = helpers.write_model(tmp_path / "own.onnx")
    right, wrong = file_sha256(model), "0" * 64
    assert cli("--model", model, EXAMPLE)[0] == 0
    assert cli("--model", model, "--sha256", right.upper(), EXAMPLE)[0] == 0
    code, out, _ = cli("--model", model, "--sha256", wrong, EXAMPLE)
    assert code == 1
    assert json.loads(out)["error"] == f"{model}: sha256 is {right}, not the {wrong} asked for"


@pytest.mark.parametrize("bad", ["abc", "g" * 64, "0" * 63])
def test_sha256_must_be_64_hex_digits(cli, bad):
    code, _, err = cli("--sha256", bad, EXAMPLE)
    assert code == 2 and "64 hex digits" in err


def test_the_server_refuses_a_damaged_shipped_model(models_copy, cli):
    flip_byte(models_copy / "detector.onnx")
    code, out, _ = cli("serve", "--port", "0")
    assert code == 1 and "damaged or replaced" in json.loads(out)["error"]


def test_record_adds_an_entry_and_keeps_the_others(tmp_path):
    (tmp_path / "a.onnx").write_bytes(b"a")
    (tmp_path / "b.onnx").write_bytes(b"b")
    record(tmp_path / "a.onnx")
    record(tmp_path / "b.onnx")
    (tmp_path / "a.onnx").write_bytes(b"new a")
    record(tmp_path / "a.onnx")
    assert read_manifest(tmp_path) == {"a.onnx": hashlib.sha256(b"new a").hexdigest(),
                                       "b.onnx": hashlib.sha256(b"b").hexdigest()}
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == []  # no temp file left
    assert (tmp_path / MANIFEST).stat().st_mode & 0o777 == (tmp_path / "a.onnx").stat().st_mode & 0o777


def test_record_refuses_to_rewrite_a_broken_manifest(tmp_path):
    (tmp_path / MANIFEST).write_text("{")
    (tmp_path / "a.onnx").write_bytes(b"a")
    with pytest.raises(ModelError, match="unreadable"):
        record(tmp_path / "a.onnx")


def test_check_sha256_ignores_case_and_spaces(tmp_path):
    path = tmp_path / "f"
    path.write_bytes(b"known")
    check_sha256(path, " " + hashlib.sha256(b"known").hexdigest().upper() + "\n")
