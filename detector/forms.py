"""multipart/form-data bodies (RFC 7578) as (name, bytes) parts, parsed by python-multipart as
the body streams in: each part's bytes are kept as sent (not decoded as text), in order.

The name of a part is its file name, else its field name, else ``part-N``.
"""

import logging

from python_multipart.exceptions import MultipartParseError
from python_multipart.multipart import MultipartParser, parse_options_header

from .errors import RequestError

# It logs each parse error it raises, which we report ourselves: not a line on stderr too.
logging.getLogger("python_multipart").addHandler(logging.NullHandler())
# Bounded work per request: a 64 MiB body of tiny parts would otherwise mean 600,000 parts.
MAX_PARTS = 1000


def is_form(content_type: str) -> bool:
    return content_type.split(";", 1)[0].strip().lower() == "multipart/form-data"


class FormReader:
    """Feed a form body chunk by chunk (``feed``), then ``parts()`` gives [(name, bytes)].

    Raises RequestError: 400 for a malformed body, 413 for more than MAX_PARTS parts.
    """

    def __init__(self, content_type: str):
        _, options = parse_options_header(content_type)
        boundary = options.get(b"boundary", b"")
        if not 0 < len(boundary) <= 70:
            raise RequestError("multipart/form-data needs a boundary parameter of 1-70 characters")
        self._parts, self._header, self._ended = [], None, False
        self._parser = MultipartParser(boundary, {
            "on_part_begin": self._begin, "on_part_data": self._data,
            "on_header_field": self._field, "on_header_value": self._value,
            "on_header_end": self._header_end, "on_end": self._end})

    def feed(self, chunk: bytes) -> None:
        try:
            self._parser.write(chunk)
        except MultipartParseError as exc:
            raise RequestError(f"malformed multipart body: {exc}") from None

    def parts(self) -> list:
        if not self._ended:
            raise RequestError("multipart body ends before its closing boundary")
        return [(_name(headers, index), b"".join(data))
                for index, (headers, data) in enumerate(self._parts)]

    def _begin(self) -> None:
        if len(self._parts) == MAX_PARTS:
            raise RequestError(f"more than {MAX_PARTS} files in one request", 413)
        self._parts.append(({}, []))

    def _data(self, data: bytes, start: int, end: int) -> None:
        self._parts[-1][1].append(data[start:end])

    def _field(self, data: bytes, start: int, end: int) -> None:
        self._header = (self._header or (b"", b""))
        self._header = (self._header[0] + data[start:end], self._header[1])

    def _value(self, data: bytes, start: int, end: int) -> None:
        self._header = (self._header[0], self._header[1] + data[start:end])

    def _header_end(self) -> None:
        field, value = self._header or (b"", b"")
        self._parts[-1][0][field.strip().lower()] = value.strip()
        self._header = None

    def _end(self) -> None:
        self._ended = True


def _name(headers: dict, index: int) -> str:
    _, options = parse_options_header(headers.get(b"content-disposition", b""))
    name = options.get(b"filename") or options.get(b"name") or b""
    # Browsers send UTF-8 file names; header bytes arrive as they were sent.
    return name.decode("utf-8", "replace") or f"part-{index + 1}"
