"""ARCHITECTURE.md names only files and folders that exist, and the symbols it names in
backticks after a path (`path` `symbol`) are defined there."""
import ast
import re
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
TEXT = (REPO / "ARCHITECTURE.md").read_text()
# A repository path: starts at a top-level folder of the repo and ends in a file or a slash.
PATH = re.compile(r"\b((?:detector|train|export|tests|docs|models|bench|scripts|examples)"
                  r"(?:/[\w.-]+)*(?:/|\.(?:py|md|json|jsonl|onnx|sh|pt|png)\b))")
PATH_THEN_SYMBOL = re.compile(r"`([\w/.-]+\.py)` `(\w+)`")


def named_paths() -> list[str]:
    return sorted(set(PATH.findall(TEXT)))


def test_it_names_paths_at_all():
    assert len(named_paths()) > 20


@pytest.mark.parametrize("path", named_paths())
def test_named_path_exists(path):
    assert (REPO / path).exists(), f"ARCHITECTURE.md names {path}, which does not exist"


def defined_names(path: Path) -> set[str]:
    tree = ast.parse(path.read_text())
    names = set()
    for node in ast.walk(tree):
        if isinstance(node, (ast.FunctionDef, ast.ClassDef, ast.AsyncFunctionDef)):
            names.add(node.name)
        elif isinstance(node, (ast.Assign, ast.AnnAssign)):
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            names |= {t.id for t in targets if isinstance(t, ast.Name)}
    return names


@pytest.mark.parametrize("path, symbol", sorted(set(PATH_THEN_SYMBOL.findall(TEXT))))
def test_named_symbol_is_defined_in_its_file(path, symbol):
    assert symbol in defined_names(REPO / path), f"ARCHITECTURE.md: {symbol} is not in {path}"
