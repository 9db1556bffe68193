"""Imports only go down the layers that ARCHITECTURE.md draws, and detector/ stays torch-free.

Every `import` and `from ... import` in the packages is read with ast (lazy imports inside
functions included), resolved to the project module it names, and ranked by LAYERS.
"""
import ast
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
PACKAGES = ("detector", "train", "export", "scale")

# Lowest first. A module may import its own layer and the layers before it, never one after.
# A prefix names a module and everything below it; "name$" names that module alone.
LAYERS = [
    ("detector",),
    ("train$", "train.errors", "train.command"),  # train$: the package itself (its __version__)
    ("train.data", "train.folders"),
    ("train.run",),
    ("train.metrics",),
    ("train.gan",),
    ("train.detection",),
    ("train.__main__", "train.evaluate", "train.report", "train.generate", "train.classifier",
     "train.domain_fid", "train.detector", "train.wreath", "train.doc_numbers", "train.vae", "train.fid"),
    ("export",),
    ("scale",),  # python -m scale: the runtime on Dask workers; imports detector only
]
# What the runtime may import besides itself: its install (requirements-run.txt) is onnxruntime,
# numpy and pillow, and for `serve` uvicorn, Starlette (with anyio) and python-multipart.
DETECTOR_THIRD_PARTY = {"onnxruntime", "numpy", "PIL", "uvicorn", "starlette", "anyio",
                        "python_multipart"}


def layer_of(module: str) -> int:
    """Index in LAYERS of the longest prefix that names `module` or a package above it."""
    best, best_len = None, -1
    for index, prefixes in enumerate(LAYERS):
        for prefix in prefixes:
            exact = prefix.endswith("$")
            prefix = prefix.rstrip("$")
            matches = module == prefix or (not exact and module.startswith(prefix + "."))
            if matches and len(prefix) > best_len:
                best, best_len = index, len(prefix)
    if best is None:
        raise KeyError(module)
    return best


def module_name(path: Path) -> str:
    parts = list(path.relative_to(REPO).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imported_modules(path: Path) -> list[tuple[str, int]]:
    """(absolute module name, line) for every import statement in the file."""
    package = module_name(path) if path.name == "__init__.py" else module_name(path).rpartition(".")[0]
    found = []
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            found += [(alias.name, node.lineno) for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join(anchor + ([base] if base else []))
            found += [(submodule_or_package(base, alias.name), node.lineno) for alias in node.names]
    return found


def submodule_or_package(package: str, name: str) -> str:
    """`from package import name`: the submodule when `name` is one, else the package itself
    (`name` is then a function, class or constant defined there)."""
    folder = REPO.joinpath(*package.split("."))
    is_module = (folder / f"{name}.py").is_file() or (folder / name / "__init__.py").is_file()
    return f"{package}.{name}" if is_module else package


def project_files() -> list[Path]:
    return sorted(p for package in PACKAGES for p in (REPO / package).rglob("*.py"))


def test_the_layers_know_every_project_module():
    for path in project_files():
        layer_of(module_name(path))  # KeyError names a module LAYERS forgot


@pytest.mark.parametrize("path", project_files(), ids=lambda p: str(p.relative_to(REPO)))
def test_imports_only_go_down(path):
    own = layer_of(module_name(path))
    for name, line in imported_modules(path):
        if name.split(".")[0] in PACKAGES:
            assert layer_of(name) <= own, (f"{path.relative_to(REPO)}:{line} imports {name}, "
                                            f"a layer above ({LAYERS[layer_of(name)][0]})")


@pytest.mark.parametrize("path", sorted((REPO / "detector").rglob("*.py")),
                         ids=lambda p: p.name)
def test_detector_imports_only_its_runtime_requirements(path):
    for name, line in imported_modules(path):
        top = name.split(".")[0]
        allowed = top == "detector" or top in DETECTOR_THIRD_PARTY or top in sys.stdlib_module_names
        assert allowed, f"detector/{path.name}:{line} imports {name}"


@pytest.mark.parametrize("path", sorted((REPO / "scale").rglob("*.py")), ids=lambda p: p.name)
def test_scale_imports_only_the_runtime_and_dask(path):
    for name, line in imported_modules(path):
        top = name.split(".")[0]
        allowed = top in ("scale", "detector", "dask", "distributed") or top in sys.stdlib_module_names
        assert allowed, f"scale/{path.name}:{line} imports {name}"


@pytest.mark.parametrize("source, expected", [
    ("from .errors import ImageError", "detector.errors"),
    ("from . import fastpng", "detector.fastpng"),
    ("import numpy as np", "numpy"),
])
def test_relative_imports_resolve_to_absolute_names(tmp_path, monkeypatch, source, expected):
    fake = REPO / "detector" / "api.py"
    monkeypatch.setattr(Path, "read_text", lambda self: source)
    assert imported_modules(fake) == [(expected, 1)]


def test_a_layer_violation_is_caught():
    assert layer_of("export.onnx_export") > layer_of("train.detection.export")
    assert layer_of("train.gan.trainer") > layer_of("train.run.rundir") > layer_of("detector.model")
