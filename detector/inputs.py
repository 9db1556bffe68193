"""Expand the command line's image arguments into (name, source) pairs, in output order.

A source is a path, the bytes read from stdin ("-"), or an ImageError for an argument that
cannot yield any image (an empty or unreadable directory), so it still gets its own row.
"""

import os
import sys

from .errors import ImageError
from .images import EXTENSIONS, is_image_name, MAX_FILE_BYTES

STDIN = "-"


def expand_inputs(arguments: list, read_stdin) -> list:
    """Paths stay as given, directories become their image files (recursively, sorted).

    ``read_stdin`` is called (once) for the "-" argument and returns its bytes (or an ImageError).
    """
    entries = []
    for argument in arguments:
        if argument == STDIN:
            entries.append((STDIN, read_stdin()))
        elif os.path.isdir(argument):
            entries.extend(scan_directory(argument))
        else:
            entries.append((argument, argument))  # missing files fail later, in their row
    return entries


def read_stdin():
    """The bytes on stdin, read up to one past what load_pixels accepts (so that endless input,
    such as /dev/zero, is refused rather than read into memory); an ImageError without stdin."""
    if sys.stdin is None:
        return ImageError("no stdin to read (it is closed)")
    try:
        return sys.stdin.buffer.read(MAX_FILE_BYTES + 1)
    except OSError as exc:
        return ImageError(f"cannot read stdin: {exc.strerror or exc}")


def scan_directory(directory: str) -> list:
    """Image files under ``directory``, sorted by their path components."""
    found = []  # (sort key, name, source)

    def unreadable(exc: OSError) -> None:
        # os.walk skips directories it cannot list; give each a row instead.
        name = exc.filename or directory
        found.append((_parts(os.path.relpath(name, directory)), name,
                      ImageError(f"cannot list directory: {exc.strerror or exc}")))

    for root, _dirs, files in os.walk(directory, onerror=unreadable):
        rel = _parts(os.path.relpath(root, directory))
        for file in files:
            if is_image_name(file):
                path = os.path.join(root, file)
                found.append((rel + (file,), path, path))
    if not found:
        return [(directory, ImageError(f"no image files in this directory (looked for "
                                       f"{' '.join(sorted(EXTENSIONS))})"))]
    found.sort(key=lambda item: item[0])
    return [(name, source) for _key, name, source in found]


def _parts(relative: str) -> tuple:
    return () if relative == os.curdir else tuple(relative.split(os.sep))
