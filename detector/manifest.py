"""The sha256 of model files: the one hashing function, and the manifest that ships beside them.

``models/manifest.json`` maps each shipped model file's name to its sha256. detector/model.py
checks a model it opens from models/ against it (a damaged download or disk error is refused, not
answered with); ``python -m export`` and ``python -m train.detector`` record the entry of each
model file they install (train/run/onnx_file.py ``install``). A model file elsewhere is checked
only against a hash its caller gives (``--sha256``).
"""

import hashlib
import json
import os
from pathlib import Path

from .atomic import write_text_atomic
from .errors import ModelError

MANIFEST = "manifest.json"
_CHUNK = 1 << 20


def file_sha256(path: "str | os.PathLike") -> str:
    """The sha256 of a file's bytes, as 64 lowercase hex digits."""
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(_CHUNK), b""):
            digest.update(chunk)
    return digest.hexdigest()


def read_manifest(folder: Path) -> dict:
    """The manifest of ``folder`` as {file name: sha256}; ModelError when missing or broken."""
    path = Path(folder) / MANIFEST
    try:
        files = json.loads(path.read_text())["files"]
    except FileNotFoundError:
        raise ModelError(f"{path} is missing, so the shipped models cannot be verified; "
                         f"restore it: {restore_command(path)}") from None
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise ModelError(f"{path} is unreadable ({type(exc).__name__}); "
                         f"restore it: {restore_command(path)}") from None
    if not isinstance(files, dict) or not all(isinstance(v, str) for v in files.values()):
        raise ModelError(f"{path}: 'files' must map file names to sha256 strings; "
                         f"restore it: {restore_command(path)}")
    return files


def check_shipped(path: Path, folder: Path) -> None:
    """Refuse a model file of ``folder`` (the shipped models) whose bytes are not the ones
    its manifest names. Files the manifest does not list are not shipped ones: left alone."""
    expected = read_manifest(folder).get(Path(path).name)
    if expected is not None and _hash(path) != expected.lower():
        raise ModelError(f"{path}: damaged or replaced (its sha256 is not the one in "
                         f"{Path(folder) / MANIFEST}); restore it: {restore_command(path)}")


def check_sha256(path: Path, expected: str) -> None:
    """Refuse ``path`` unless its sha256 is ``expected`` (64 hex digits, any case)."""
    actual = _hash(path)
    if actual != expected.strip().lower():
        raise ModelError(f"{path}: sha256 is {actual}, not the {expected.strip().lower()} asked for")


def record(path: Path) -> None:
    """Write ``path``'s sha256 into the manifest of its folder (created when missing), atomically."""
    path = Path(path)
    manifest = path.parent / MANIFEST
    files = read_manifest(path.parent) if manifest.exists() else {}  # a broken one is refused
    files[path.name] = file_sha256(path)
    text = json.dumps({"files": dict(sorted(files.items()))}, indent=2) + "\n"
    write_text_atomic(manifest, text)


def _hash(path: Path) -> str:
    try:
        return file_sha256(path)
    except OSError as exc:
        raise ModelError(f"{path}: cannot be read: {exc.strerror or exc}") from None


def restore_command(path: Path) -> str:
    """How to get a shipped file back: git checkout, run where the repository is."""
    path = Path(path).resolve()
    root = path.parent.parent
    return f"git -C {root} checkout -- {path.relative_to(root).as_posix()}"
