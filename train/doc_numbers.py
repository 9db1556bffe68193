"""`python -m train.doc_numbers`: the docs' figures, checked against the JSON files they come from.

    python -m train.doc_numbers --check    # list every stale number; exit 1 if there is one
    python -m train.doc_numbers --write    # rewrite the stale numbers in place from their JSON

In README.md, models/README.md, strong_zoo/README.md and docs/*.md a figure that a committed JSON file holds sits in
a span, invisible when rendered, that names the file, the key path and the format:

    catches <!-- num docs/detector_results.json:shipped.seed_test.detector.generated_caught %.0f -->77<!-- /num --> %

The file is relative to the repository root; the key path joins object keys and integer list
indices with dots (`entries.0.fid`). The format is a Python format spec (`.3f`, `,d`, `.1e`;
none: the value as JSON has it); a leading `%` multiplies by 100 first (the `%` sign is prose);
with a spec, a string holding a number is read as that number (detector_results.json's `config`
stores strings); exponents lose leading zeros (4.3e-6). A span sits on one line and never
starts it: `<!--` there would open an HTML block and hide the rest of the line's Markdown.
"""
import json
import re
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import NamedTuple, Optional

from train.command import run_command
from train.errors import DocNumberError
from train.run.atomic import write_text_atomic

REPO = Path(__file__).resolve().parents[1]
SPAN = re.compile(r"(?P<head><!-- num (?P<source>[^\s:]+):(?P<key>\S+)(?: (?P<spec>\S+))? -->)"
                  r"(?P<written>[^<\n]*)(?P<tail><!-- /num -->)")


class Span(NamedTuple):
    """One cited figure: where it is written, what it cites, the text it shows and (once
    measured) the text its JSON value gives."""
    document: str
    line: int
    source: str
    key: str
    spec: str
    written: str
    measured: str = ""


def parse_spans(text: str, document: str) -> list[Span]:
    """Every span of a document, in order; a malformed one, or one starting a line, is an error."""
    spans = []
    for number, line in enumerate(text.splitlines(), start=1):
        matches = list(SPAN.finditer(line))
        if line.count("<!-- num ") != len(matches):
            raise DocNumberError(f"{document}:{number}: a span is not "
                                 "`<!-- num FILE:KEY [FORMAT] -->TEXT<!-- /num -->` on one line")
        for match in matches:
            if not line[:match.start()].strip():
                raise DocNumberError(f"{document}:{number}: a span starts the line "
                                     "(Markdown would read it as an HTML block)")
            spans.append(Span(document, number, match["source"], match["key"],
                              match["spec"] or "", match["written"]))
    return spans


def look_up(data, key: str):
    """The value at a dotted key path: object keys, and integer indices into lists."""
    value = data
    for part in key.split("."):
        if isinstance(value, dict) and part in value:
            value = value[part]
        elif isinstance(value, list) and part.isdigit() and int(part) < len(value):
            value = value[int(part)]
        else:
            raise DocNumberError(f"no key {key!r} (nothing at {part!r})")
    return value


def format_value(value, spec: str) -> str:
    """The value as the docs write it, by a format spec (see the module's docstring)."""
    if not spec:
        return value if isinstance(value, str) else json.dumps(value)
    try:
        number = json.loads(value) if isinstance(value, str) else value
        if spec.startswith("%"):
            number, spec = number * 100, spec[1:]
        text = format(number, spec)
    except (TypeError, ValueError) as e:
        raise DocNumberError(f"cannot format {value!r} with {spec!r}: {e}") from None
    return re.sub(r"e([+-])0+(\d)", r"e\1\2", text)


def measure(span: Span, root: Path, loaded: dict) -> str:
    """The text the span should show, from its JSON file (each file read once into `loaded`)."""
    try:
        if span.source not in loaded:
            if not (root / span.source).is_file():
                raise DocNumberError("no such file")
            loaded[span.source] = json.loads((root / span.source).read_text())
        return format_value(look_up(loaded[span.source], span.key), span.spec)
    except (DocNumberError, ValueError) as e:
        raise DocNumberError(f"{span.document}:{span.line}: {span.source}: {e}") from None


def span(source: str, key: str, value, spec: str = "") -> str:
    """A figure written as a span citing `source`:`key`, showing `value` in `spec`."""
    return f"<!-- num {source}:{key}{' ' + spec if spec else ''} -->{format_value(value, spec)}<!-- /num -->"


def replace_block(doc: Path, begin: str, end: str, lines: list[str]) -> None:
    """Put `lines` between the line `begin` and the next line `end` of `doc` (a generated table)."""
    text = doc.read_text().splitlines()
    if begin not in text or end not in text[text.index(begin):]:
        raise DocNumberError(f"{doc} has no line {begin!r} followed by {end!r} to put the table between")
    start = text.index(begin) + 1
    write_text_atomic(doc, "\n".join(text[:start] + lines + text[text.index(end, start):]) + "\n")


def documents(root: Path) -> list[Path]:
    """The Markdown files whose figures are checked: README.md, models/README.md, strong_zoo/README.md, docs/*.md."""
    found = [root / "README.md", root / "models" / "README.md", root / "strong_zoo" / "README.md",
             *sorted((root / "docs").glob("*.md"))]
    return [path for path in found if path.is_file()]


def refresh(root: Path, write: bool) -> tuple[list[Span], int]:
    """(the spans whose text is not their JSON value's, the spans' count); `write` fixes them."""
    loaded, stale, count = {}, [], 0
    for path in documents(root):
        text = path.read_text()
        spans = [s._replace(measured=measure(s, root, loaded))
                 for s in parse_spans(text, path.relative_to(root).as_posix())]
        found = [s for s in spans if s.measured != s.written]
        if write and found:
            values = iter(s.measured for s in spans)
            write_text_atomic(path, SPAN.sub(lambda m: m["head"] + next(values) + m["tail"], text))
        stale, count = stale + found, count + len(spans)
    return stale, count


@dataclass
class DocNumbersConfig:
    check: bool = field(default=False, metadata={
        "help": "list every stale number and exit 1 if there is one (the default)"})
    write: bool = field(default=False, metadata={
        "help": "rewrite every stale number in place from its JSON file"})


def run(config: DocNumbersConfig, root: Optional[Path] = None) -> tuple[list[Span], int]:
    stale, count = refresh(root or REPO, write=config.write)
    if stale and not config.write:
        raise DocNumberError(f"{len(stale)} of {count} numbers are stale (--write rewrites them):\n"
                             + "\n".join(f"{s.document}:{s.line}: {s.source}:{s.key} written "
                                         f"{s.written!r}, measured {s.measured!r}" for s in stale))
    return stale, count


def main(argv=None) -> int:
    return run_command(
        DocNumbersConfig, argv, module="train.doc_numbers", action=run,
        description="Check (or --write) the figures that README.md, models/README.md, strong_zoo/README.md "
                    "and docs/*.md cite from JSON files.",
        describe=lambda config, result: (f"rewrote {len(result[0])} of {result[1]} numbers"
                                         if config.write else f"all {result[1]} numbers agree"))


if __name__ == "__main__":
    sys.exit(main())
