"""Caption manifests from real and malformed CSVs, through the API and the CLI."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from reasonaqa.errors import InputError
from reasonaqa.schemas import Clip
from reasonaqa.sources.manifests import build_manifest, read_manifest, write_manifest

REPO = Path(__file__).resolve().parents[2]
SHARED_DATA = Path(__file__).resolve().parents[3] / "shared" / "data"
BAD_CSV = Path(__file__).resolve().parents[1] / "data" / "bad_csv"
CLOTHO_HEADER = "file_name,caption_1,caption_2,caption_3,caption_4,caption_5\n"


def shared_csv(relative: str) -> Path:
    path = SHARED_DATA / relative
    if not path.is_file():
        pytest.skip(f"{path} not present")
    return path


def run_cli(*args: str | Path) -> subprocess.CompletedProcess[str]:
    command = [sys.executable, "-c", "from reasonaqa.cli import main; main()", "manifest"]
    return subprocess.run(
        [*command, *map(str, args)], capture_output=True, text=True, cwd=REPO, check=False
    )


# --- Real CSVs -----------------------------------------------------------------------------


@pytest.mark.parametrize(("name", "clips"), [("val", 495), ("test", 975)])
def test_audiocaps_real_counts(name: str, clips: int) -> None:
    manifest = build_manifest("audiocaps", [shared_csv(f"audiocaps/{name}.csv")], name)
    assert len(manifest) == clips
    assert all(len(clip.captions) == 5 and len(clip.source_rows) == 5 for clip in manifest)
    assert len({clip.clip_id for clip in manifest}) == clips


def test_audiocaps_real_rows_field_by_field() -> None:
    manifest = build_manifest("audiocaps", [shared_csv("audiocaps/val.csv")], "val")
    first = manifest[0]
    assert first.dataset == "audiocaps"
    assert first.split == "val"
    assert first.clip_id == "vfY_TJq7n_U"
    assert first.audio_path == "YvfY_TJq7n_U.wav"
    assert first.source_rows[0] == "97151"
    assert first.captions[0] == (
        "Rustling occurs, ducks quack and water splashes, followed by an adult female and"
        " adult male speaking and duck calls being blown"
    )
    second = manifest[1]
    assert (second.clip_id, second.source_rows[0]) == ("tdWhHV3X25Q", "108945")
    assert second.captions[0] == "An audience gives applause as a man yells and a group sings"


def test_audiocaps_audio_pattern_with_split() -> None:
    csv_path = shared_csv("audiocaps/test.csv")
    manifest = build_manifest(
        "audiocaps", [csv_path], "test", audio_pattern="{split}/Y{youtube_id}.wav"
    )
    assert manifest[0].audio_path == "test/Y7fmOlUlwoNg.wav"
    assert manifest[1].audio_path == "test/Y6BJ455B1aAs.wav"
    assert manifest[1].captions[0].startswith("A rocket flies by followed by a loud explosion")


def test_clotho_real_counts_and_names() -> None:
    manifest = build_manifest(
        "clotho", [shared_csv("clotho/clotho_captions_evaluation.csv")], "evaluation"
    )
    assert len(manifest) == 1045
    assert all(len(clip.captions) == 5 for clip in manifest)
    first = manifest[0]
    assert (first.clip_id, first.audio_path, first.source_rows) == (
        "Santa Motor.wav",
        "Santa Motor.wav",
        ["1"],
    )
    assert first.captions[0] == (
        "A machine whines and squeals while rhythmically punching or stamping."
    )
    assert first.captions[4] == (
        "While rhythmically punching or stamping, a machine whines and squeals."
    )
    assert manifest[-1].clip_id == "FR.BirdChatAmbience.26.wav"
    assert manifest[-1].source_rows == ["1045"]
    names = {clip.clip_id for clip in manifest}
    assert "Two Diesel Locomotives Pass Slowly, L to R.wav" in names


# --- Encodings, duplicates, audio root -------------------------------------------------------


def write_clotho(path: Path, rows: list[str], encoding: str = "utf-8") -> Path:
    path.write_bytes((CLOTHO_HEADER + "".join(row + "\n" for row in rows)).encode(encoding))
    return path


def test_clotho_latin1_needs_encoding_option(tmp_path: Path) -> None:
    name = "Forêt, nuit à Zürich.wav"
    csv_path = write_clotho(
        tmp_path / "meta.csv", ["ok.wav,a,b,c,d,e", f'"{name}",a,b,c,d,e'], "latin-1"
    )
    with pytest.raises(InputError) as caught:
        build_manifest("clotho", [csv_path], "development")
    assert (caught.value.row, caught.value.field) == (2, "file_name")
    assert "--encoding iso-8859-1" in str(caught.value)
    clips = build_manifest("clotho", [csv_path], "development", encoding="iso-8859-1")
    assert clips[1].clip_id == clips[1].audio_path == name


def test_utf8_byte_order_mark_is_not_part_of_the_header(tmp_path: Path) -> None:
    csv_path = tmp_path / "bom.csv"
    csv_path.write_bytes(b"\xef\xbb\xbf" + (CLOTHO_HEADER + "Caf\u00e9.wav,a,b,c,d,e\n").encode())
    assert build_manifest("clotho", [csv_path], "evaluation")[0].clip_id == "Café.wav"


def test_identical_duplicates_are_kept_once(tmp_path: Path) -> None:
    audiocaps = tmp_path / "a.csv"
    audiocaps.write_text(
        "audiocap_id,youtube_id,start_time,caption\n1,aaa,0,Dog\n2,aaa,0,Cat\n1,aaa,0,Dog\n"
    )
    clips = build_manifest("audiocaps", [audiocaps, audiocaps], "val")
    assert [(c.captions, c.source_rows) for c in clips] == [(["Dog", "Cat"], ["1", "2"])]
    clotho = write_clotho(tmp_path / "c.csv", ["x.wav,a,b,c,d,e", "x.wav,a,b,c,d,e"])
    assert [c.source_rows for c in build_manifest("clotho", [clotho], "evaluation")] == [["1"]]


def test_several_clotho_csvs_name_their_file_in_source_rows(tmp_path: Path) -> None:
    one = write_clotho(tmp_path / "one.csv", ["x.wav,a,b,c,d,e"])
    two = write_clotho(tmp_path / "two.csv", ["y.wav,a,b,c,d,e"])
    clips = build_manifest("clotho", [one, two], "evaluation")
    assert [c.source_rows for c in clips] == [["one.csv:1"], ["two.csv:1"]]


def test_audio_root_requires_every_file(tmp_path: Path) -> None:
    csv_path = write_clotho(tmp_path / "c.csv", ["here.wav,a,b,c,d,e", '"gone, too.wav",a,b,c,d,e'])
    (tmp_path / "audio" / "evaluation").mkdir(parents=True)
    (tmp_path / "audio" / "evaluation" / "here.wav").write_bytes(b"")
    with pytest.raises(InputError, match=r"row 2, column 'file_name'.*1 of 2 clips") as caught:
        build_manifest(
            "clotho",
            [csv_path],
            "evaluation",
            audio_root=tmp_path / "audio",
            audio_pattern="{split}/{file_name}",
        )
    assert caught.value.file == str(csv_path)


def test_audio_pattern_must_name_known_placeholders(tmp_path: Path) -> None:
    csv_path = write_clotho(tmp_path / "c.csv", ["x.wav,a,b,c,d,e"])
    with pytest.raises(InputError, match="placeholders"):
        build_manifest("clotho", [csv_path], "evaluation", audio_pattern="{youtube_id}.wav")
    with pytest.raises(InputError, match="placeholders"):
        build_manifest("clotho", [csv_path], "evaluation", audio_pattern="all.wav")


# --- Manifest files --------------------------------------------------------------------------


@pytest.mark.parametrize("suffix", [".jsonl", ".parquet"])
def test_write_read_round_trip(tmp_path: Path, suffix: str) -> None:
    clips = list(read_manifest(REPO / "manifests" / "sample.jsonl"))
    path = tmp_path / f"out{suffix}"
    assert write_manifest(clips, path) == len(clips)
    assert list(read_manifest(path)) == clips
    assert sorted(p.name for p in tmp_path.iterdir()) == [path.name]


def test_sample_manifest_covers_both_datasets_and_all_splits() -> None:
    clips = list(read_manifest(REPO / "manifests" / "sample.jsonl"))
    assert len(clips) == 10
    splits = {(c.dataset, c.split) for c in clips}
    assert {("audiocaps", s) for s in ("train", "val", "test")} <= splits
    clotho = [c for c in clips if c.dataset == "clotho"]
    assert all(len(c.captions) == 5 for c in clotho)
    assert any(not c.clip_id.isascii() for c in clotho)
    assert any("," in c.clip_id and " " in c.clip_id for c in clotho)
    assert len({c.clip_id for c in clips}) == len(clips)


def test_read_manifest_names_the_bad_line(tmp_path: Path) -> None:
    good = Clip(
        dataset="clotho", split="x", clip_id="a", audio_path="a", captions=["c"], source_rows=["1"]
    )
    path = tmp_path / "m.jsonl"
    bad = {**good.model_dump(), "captions": []}
    path.write_text(f"{good.model_dump_json()}\n\n{json.dumps(bad)}\n")
    clips = read_manifest(path)
    assert next(clips) == good
    with pytest.raises(InputError, match=r"m\.jsonl, row 3, column 'captions'"):
        next(clips)
    path.write_bytes(good.model_dump_json().encode() + b'\n{"dataset": "\xff"}\n')
    with pytest.raises(InputError, match="row 2"):
        list(read_manifest(path))


# --- Malformed CSVs through the CLI ----------------------------------------------------------


@pytest.mark.parametrize(
    ("kind", "file_name", "where"),
    [
        ("audiocaps", "audiocaps_missing_column.csv", "column 'caption': missing from the header"),
        ("audiocaps", "audiocaps_empty_caption.csv", "row 3, column 'caption'"),
        ("audiocaps", "audiocaps_conflicting_id.csv", "row 3, column 'youtube_id'"),
        ("audiocaps", "audiocaps_conflicting_start.csv", "row 2, column 'start_time'"),
        ("audiocaps", "audiocaps_bad_start_time.csv", "row 1, column 'start_time'"),
        ("clotho", "clotho_undecodable.csv", "row 2, column 'file_name'"),
        ("clotho", "clotho_duplicate_file.csv", "row 3, column 'caption_4'"),
        ("clotho", "clotho_missing_column.csv", "column 'caption_5': missing from the header"),
        ("clotho", "clotho_short_row.csv", "row 2, column 'caption_4'"),
    ],
)
def test_cli_rejects_malformed_csv(tmp_path: Path, kind: str, file_name: str, where: str) -> None:
    output = tmp_path / "out" / "manifest.jsonl"
    result = run_cli(kind, BAD_CSV / file_name, "--split", "val", "-o", output)
    assert result.returncode == 2, result.stderr
    lines = result.stderr.splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith(f"error: {BAD_CSV / file_name}, ")
    assert where in lines[0]
    assert not output.exists()
    assert not output.parent.exists() or not any(output.parent.iterdir())


def test_cli_writes_a_manifest(tmp_path: Path) -> None:
    csv_path = write_clotho(tmp_path / "c.csv", ['"rain, roof.wav",a,b,c,d,e'])
    output = tmp_path / "m.parquet"
    result = run_cli("clotho", csv_path, "--split", "evaluation", "-o", output)
    assert result.returncode == 0, result.stderr
    assert "wrote 1 clips with 5 captions" in result.stderr
    assert [c.clip_id for c in read_manifest(output)] == ["rain, roof.wav"]
