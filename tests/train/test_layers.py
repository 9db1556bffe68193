"""train/ sits below export/: no module of train/ imports export (imports only go down)."""
import ast
from pathlib import Path

import pytest

TRAIN = Path(__file__).resolve().parents[2] / "train"


def imported_modules(path: Path):
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            yield from (alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            yield node.module


@pytest.mark.parametrize("path", sorted(TRAIN.rglob("*.py")), ids=lambda p: str(p.relative_to(TRAIN)))
def test_train_does_not_import_export(path):
    upward = [name for name in imported_modules(path) if name.split(".")[0] == "export"]
    assert not upward, f"{path.relative_to(TRAIN.parent)} imports {upward} from the layer above"
