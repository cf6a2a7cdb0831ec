"""The strict CSV reader every source format uses: rows with their file and number.

Policies a user may need to know:

* Encoding: CSVs are read as UTF-8 (a byte-order mark is allowed) unless ``encoding`` says
  otherwise. Nothing is guessed: ISO-8859-1 decodes any byte, so a silent fallback would
  turn a broken UTF-8 file into wrong captions. A byte that does not decode stops with the
  file, row and column, and the hint to pass ``--encoding iso-8859-1``.
* Row numbers in errors count data rows from 1; the header is not a data row, and blank lines
  are skipped.
* Quoting is strict: a quote that is never closed, or text after a closing quote, stops with
  the line where the quoted value opened (a lenient reader would swallow the following rows
  into one caption). So does any control character in a value (NUL, a line break, ...):
  captions are one line of text, and a line break in one means a quote went astray.
* Header names must be distinct (otherwise one column would silently shadow the other), and a
  file needs at least one data row.
"""

from __future__ import annotations

import codecs
import csv
import io
import itertools
import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

from reasonaqa.errors import InputError


@dataclass(frozen=True)
class CsvRow:
    """One data row of a caption CSV, with where it came from for error messages."""

    file: Path
    number: int
    values: dict[str, str]

    def require(self, column: str) -> str:
        """The stripped value of ``column``; empty is an error naming this row."""
        value = self.values[column].strip()
        if not value:
            raise InputError("empty value", file=self.file, row=self.number, field=column)
        return value

    def where(self) -> str:
        return f"{self.file.name} row {self.number}"


def read_csv_rows(path: Path, required: Sequence[str], encoding: str) -> Iterator[CsvRow]:
    """Stream the data rows of ``path``, checking the header, quoting, field counts and text."""
    codec = _codec_name(encoding)
    if not path.is_file():
        raise InputError("no such CSV file", file=path)
    decoding = _Decoding(encoding, codec)
    number = 0
    header: list[str] = []
    # surrogateescape keeps undecodable bytes as markers, so we can name their row and column.
    with open(path, encoding=codec, errors="surrogateescape", newline="") as fh:
        reader = csv.reader(fh, strict=True)
        start = 1  # the file line where the record being read starts
        try:
            header = [name.strip() for name in next(reader, [])]
            _check_header(path, header, required, decoding)
            start = reader.line_num + 1
            for record in reader:
                if any(value.strip() for value in record):
                    number += 1
                    yield _make_row(path, number, header, record, decoding)
                start = reader.line_num + 1
        except csv.Error as err:
            lines = (start, reader.line_num)
            raise _quoting_error(path, codec, header, number + 1, lines, err) from None
    if not number:
        raise InputError("no data rows: the file holds only its header", file=path)


def _codec_name(encoding: str) -> str:
    try:
        name = codecs.lookup(encoding).name
    except LookupError:
        raise InputError(f"unknown text encoding {encoding!r} (--encoding)") from None
    # Excel writes a byte-order mark in front of UTF-8 CSVs; it is not part of the header.
    return "utf-8-sig" if name == "utf-8" else name


@dataclass(frozen=True)
class _Decoding:
    """The encoding a CSV is read with, as the user named it and as Python's codec."""

    name: str
    codec: str

    def check(self, value: str, path: Path, row: int | None, column: str) -> None:
        """Raise if ``value`` holds bytes that the encoding could not decode."""
        try:
            value.encode("utf-8")
        except UnicodeEncodeError as err:
            byte = ord(value[err.start]) - 0xDC00
            where = "" if row is not None else " in the header row"
            hint = "; pass --encoding iso-8859-1 if it is Latin-1" if "utf-8" in self.codec else ""
            raise InputError(
                f"byte 0x{byte:02X}{where} is not valid {self.name}{hint}",
                file=path,
                row=row,
                field=column,
            ) from None


def _check_header(
    path: Path, header: list[str], required: Sequence[str], decoding: _Decoding
) -> None:
    if not header:
        raise InputError("empty file: no header row", file=path)
    for position, name in enumerate(header):
        decoding.check(name, path, None, name)
        _check_control(name, path, None, name)
        if name in header[:position]:
            raise InputError(
                f"duplicate column name in the header row (columns {header.index(name) + 1} "
                f"and {position + 1})",
                file=path,
                field=name,
            )
    for column in required:
        if column not in header:
            found = ", ".join(header)
            raise InputError(
                f"missing from the header row (columns found: {found})", file=path, field=column
            )


def _make_row(
    path: Path, number: int, header: list[str], record: list[str], decoding: _Decoding
) -> CsvRow:
    if len(record) < len(header):
        missing = header[len(record)]
        raise InputError(
            f"row has {len(record)} fields, the header has {len(header)}",
            file=path,
            row=number,
            field=missing,
        )
    if len(record) > len(header):
        raise InputError(
            f"row has {len(record)} fields, the header has {len(header)}: unquoted comma?",
            file=path,
            row=number,
            field=header[-1],
        )
    values = dict(zip(header, record, strict=True))
    for column, value in values.items():
        decoding.check(value, path, number, column)
        _check_control(value, path, number, column)
    return CsvRow(path, number, values)


# Unicode's control characters (category Cc) but the tab, which is only odd white space.
_CONTROL = re.compile(r"[\x00-\x08\x0a-\x1f\x7f-\x9f]")
_CONTROL_NAMES = {"\0": "NUL", "\n": "line break", "\r": "carriage return"}


def _check_control(value: str, path: Path, row: int | None, column: str) -> None:
    """Refuse control characters: NUL, line breaks (a stray quote's doing) and the like."""
    found = _CONTROL.search(value)
    if found is None:
        return
    char = found.group()
    name = _CONTROL_NAMES.get(char, "control character")
    hint = ": an unterminated quote?" if char in "\r\n" else ""
    where = "" if row is not None else " in the header row"
    raise InputError(f"{name} U+{ord(char):04X}{where}{hint}", file=path, row=row, field=column)


def _quoting_error(
    path: Path, codec: str, header: list[str], row: int, lines: tuple[int, int], err: csv.Error
) -> InputError:
    """One line for a quoting error: the row, the column and the line its value opened on."""
    if not header:
        return InputError(f"malformed CSV in the header row: {err}", file=path)
    start = lines[0]
    column = _column_at_fault(path, codec, lines)
    field = header[column] if column < len(header) else None
    if "unexpected end of data" in str(err):
        problem = f"a quote opened on line {start} is never closed"
    else:
        problem = f"malformed quoting in the value starting on line {start}: {err}"
    return InputError(problem, file=path, row=row, field=field)


def _column_at_fault(path: Path, codec: str, lines: tuple[int, int]) -> int:
    """The index of the last field of the broken record (file lines ``lines``, read leniently):
    the field whose quoting broke."""
    start, end = lines
    with open(path, encoding=codec, errors="surrogateescape", newline="") as fh:
        rest = io.StringIO("".join(itertools.islice(fh, start - 1, end)))
        record = next(csv.reader(rest), [])
    return max(len(record) - 1, 0)
