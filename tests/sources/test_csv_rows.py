"""The strict CSV reader: every malformed file is one error naming file, row and column."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from reasonaqa.errors import InputError
from reasonaqa.sources.csv_rows import read_csv_rows

HEADER = "file_name,caption_1,caption_2\n"


def _read(tmp_path: Path, text: str) -> list[dict[str, str]]:
    path = tmp_path / "captions.csv"
    path.write_text(text, encoding="utf-8", newline="")
    return [row.values for row in read_csv_rows(path, ["file_name", "caption_1"], "utf-8")]


def _error(tmp_path: Path, text: str) -> InputError:
    with pytest.raises(InputError) as caught:
        _read(tmp_path, text)
    assert "\n" not in str(caught.value)
    return caught.value


def test_an_unterminated_quote_does_not_swallow_the_next_rows(tmp_path: Path) -> None:
    text = HEADER + 'a.wav,A dog barks.,Rain.\nb.wav,"A cat meows.,Wind.\nc.wav,x,y\nd.wav,z,w\n'
    err = _error(tmp_path, text)
    assert (err.row, err.field) == (2, "caption_1")
    assert "quote opened on line 3 is never closed" in str(err)
    assert str(err).startswith(f"{tmp_path / 'captions.csv'}, row 2, column 'caption_1'")


def test_a_quote_closed_rows_later_is_caught(tmp_path: Path) -> None:
    text = HEADER + 'a.wav,"A dog barks.,Rain.\nb.wav,x,"y"z\n'
    err = _error(tmp_path, text)
    assert err.row == 1 and "line 2" in str(err)


def test_a_line_break_in_a_value_is_refused(tmp_path: Path) -> None:
    text = HEADER + 'a.wav,"A dog\nbarks.",Rain.\n'
    err = _error(tmp_path, text)
    assert (err.row, err.field) == (1, "caption_1") and "line break" in str(err)


def test_duplicate_header_names_are_refused(tmp_path: Path) -> None:
    err = _error(tmp_path, "file_name,caption_1,caption_1\na.wav,one,two\n")
    assert err.field == "caption_1" and "columns 2 and 3" in str(err)


@pytest.mark.parametrize(("char", "name"), [("\0", "NUL"), ("\x07", "control character")])
def test_control_characters_are_refused(tmp_path: Path, char: str, name: str) -> None:
    err = _error(tmp_path, HEADER + f"a.wav,A dog{char} barks.,Rain.\n")
    assert (err.row, err.field) == (1, "caption_1") and name in str(err)


def test_a_header_only_file_is_refused(tmp_path: Path) -> None:
    err = _error(tmp_path, HEADER + "\n")
    assert "only its header" in str(err)


def test_quoted_commas_and_quotes_are_fine(tmp_path: Path) -> None:
    rows = _read(tmp_path, HEADER + 'a.wav,"A dog, then a ""cat"".",\tRain.\n')
    expected = {"file_name": "a.wav", "caption_1": 'A dog, then a "cat".', "caption_2": "\tRain."}
    assert rows == [expected]


def test_the_cli_prints_one_line_and_writes_nothing(tmp_path: Path) -> None:
    csv_path, out = tmp_path / "clotho.csv", tmp_path / "clips.jsonl"
    header = "file_name,caption_1,caption_2,caption_3,caption_4,caption_5\n"
    csv_path.write_text(header + 'a.wav,"one,two,three,four,five\nb.wav,1,2,3,4,5\n')
    command = [sys.executable, "-m", "reasonaqa", "manifest", "clotho", str(csv_path)]
    result = subprocess.run(
        [*command, "--split", "test", "-o", str(out)], capture_output=True, text=True, check=False
    )
    assert result.returncode == 2 and result.stderr.count("\n") == 1, result.stderr
    assert "row 1, column 'caption_1'" in result.stderr and not out.exists()
