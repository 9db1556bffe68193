"""The shape every `python -m train.<tool>` and `python -m export` command shares.

Parse the tool's config dataclass, run one library function, print what it did; the
project's errors become one `tool: message` line on stderr and exit status 1 (argparse's
usage errors exit with 2).

Every command's flags are a dataclass parsed by argparse-dataclass 2.0.0 (here, and directly in
train/__main__.py and export/examples.py), which reads the fields' annotations at run time:
- works: `Path`, `Optional[X]`, `Literal[...]` (its values become the choices), `list[str]` with
  `nargs`, and `metadata={"help": ..., "choices": ..., "args": ["-b", "--batch-size"],
  "nargs": 2}`; a `bool` field defaulting to True becomes `--no-NAME`;
- breaks: `from __future__ import annotations` (annotations become strings, so no module that
  defines a config dataclass may use it), `int | None` (write `Optional[int]`), and nested
  dataclasses (silently wrong: keep every config flat).
"""
import sys
from typing import Any, Callable, Optional, Sequence

from argparse_dataclass import ArgumentParser

from train.errors import TrainError


def run_command(config_class: type, argv: Optional[Sequence[str]], *, module: str,
                description: str, action: Callable[[Any], Any],
                describe: Callable[[Any, Any], str]) -> int:
    """`action(config)` for the config parsed from argv; prints `describe(config, result)`."""
    parser = ArgumentParser(config_class, prog=f"python -m {module}", description=description)
    config = parser.parse_args(argv)
    try:
        result = action(config)
    except TrainError as e:
        print(f"{module.rsplit('.', 1)[-1]}: {e}", file=sys.stderr)
        return 1
    print(describe(config, result))
    return 0
