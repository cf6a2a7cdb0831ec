"""The strict CSV reader every source format uses: rows with their file and number.

Policies a user may need to know:

* Encoding: CSVs are read as UTF-8 (a byte-order mark is allowed) unless ``encoding`` says
  otherwise. Nothing is guessed: ISO-8859-1 decodes any byte, so a silent fallback would
  turn a broken UTF-8 file into wrong captions. A byte that does not decode stops with the
  file, row and column, and the hint to pass ``--encoding iso-8859-1``.
* Row numbers in errors count data rows from 1; the header is not a data row, and blank lines
  are skipped.
"""

from __future__ import annotations

import codecs
import csv
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
    """Stream the data rows of ``path``, checking the header, field counts and decoding."""
    codec = _codec_name(encoding)
    if not path.is_file():
        raise InputError("no such CSV file", file=path)
    decoding = _Decoding(encoding, codec)
    number = 0
    # surrogateescape keeps undecodable bytes as markers, so we can name their row and column.
    with open(path, encoding=codec, errors="surrogateescape", newline="") as fh:
        reader = csv.reader(fh)
        try:
            header = [name.strip() for name in next(reader, [])]
            _check_header(path, header, required, decoding)
            for record in reader:
                if not any(value.strip() for value in record):
                    continue
                number += 1
                yield _make_row(path, number, header, record, decoding)
        except csv.Error as err:
            raise InputError(f"malformed CSV: {err}", file=path, row=number + 1) from None


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
    for name in header:
        decoding.check(name, path, None, name)
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
    return CsvRow(path, number, values)
