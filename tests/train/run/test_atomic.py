import os

import pytest
import torch

from train.run.atomic import save_torch_atomic, write_atomic, write_text_atomic


def _read_torch(path):
    return torch.load(path, weights_only=True)


# (write `value` to `path` with one helper, read it back)
HELPERS = {
    "write_atomic": (lambda path, value: write_atomic(path, lambda f: f.write(value.encode())),
                     lambda path: path.read_text()),
    "write_text_atomic": (write_text_atomic, lambda path: path.read_text()),
    "save_torch_atomic": (lambda path, value: save_torch_atomic({"v": value}, path),
                          lambda path: _read_torch(path)["v"]),
}


@pytest.mark.parametrize("helper", HELPERS)
def test_write_replaces_the_whole_file(tmp_path, helper):
    write, read = HELPERS[helper]
    path = tmp_path / "file"
    write(path, "old")
    write(path, "new ✓")
    assert read(path) == "new ✓"
    assert [p.name for p in tmp_path.iterdir()] == ["file"]


@pytest.mark.parametrize("error", [OSError(28, "No space left on device"), KeyboardInterrupt()])
@pytest.mark.parametrize("helper", HELPERS)
def test_failing_write_keeps_the_old_file_and_no_temp_file(tmp_path, monkeypatch, helper, error):
    write, read = HELPERS[helper]
    path = tmp_path / "file"
    write(path, "old")

    def failing_fsync(fd):  # the data reached the temp file, then the disk filled up
        raise error

    monkeypatch.setattr(os, "fsync", failing_fsync)
    with pytest.raises(type(error)):
        write(path, "new")
    monkeypatch.undo()
    assert read(path) == "old"
    assert [p.name for p in tmp_path.iterdir()] == ["file"]


def test_an_exception_in_the_writer_leaves_no_file(tmp_path):
    def half_then_fail(f):
        f.write(b"half")
        raise RuntimeError("PytorchStreamWriter failed writing file data/0")

    with pytest.raises(RuntimeError):
        write_atomic(tmp_path / "file", half_then_fail)
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("umask", [0o022, 0o077, 0o002])
@pytest.mark.parametrize("helper", HELPERS)
def test_written_file_has_the_mode_a_plain_open_gives(tmp_path, helper, umask):
    write, _ = HELPERS[helper]
    old = os.umask(umask)
    try:
        write(tmp_path / "file", "text")
        (tmp_path / "plain").write_text("text")
    finally:
        os.umask(old)
    assert (tmp_path / "file").stat().st_mode & 0o777 == (tmp_path / "plain").stat().st_mode & 0o777
    assert os.umask(old) == old  # the helper left the process's umask as it found it
