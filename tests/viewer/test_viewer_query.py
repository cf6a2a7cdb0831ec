"""The viewer's query layer and page, in process: filters, search, paging, set-aside files."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from aiohttp import web

from reasonaqa.errors import InputError
from reasonaqa.storage.arrow import SET_ASIDE_SCHEMA
from reasonaqa.testing.viewer_folder import ACCEPTED, QUARANTINED, REJECTED, qa_row, write_run
from reasonaqa.viewer.folder import open_folder, summary_figures
from reasonaqa.viewer.page import render_page
from reasonaqa.viewer.query import NOT_SET, Filters, RowQuery
from reasonaqa.viewer.server import confined

ALL_IDS = [
    *(row["record_id"] for rows in ACCEPTED.values() for row in rows),
    *(row["record_id"] for row, _, _ in REJECTED),
    *(row["record_id"] for row, _ in QUARANTINED),
]


@pytest.fixture(scope="module")
def rows(run_folder: Path) -> Iterator[RowQuery]:
    query = RowQuery(open_folder(run_folder), threads=1)
    yield query
    query.close()


def ids(query: RowQuery, **filters: str | list[str]) -> list[str]:
    given = {k: v if isinstance(v, list) else [v] for k, v in filters.items()}
    page = query.page(Filters.from_query(given), size=200)
    assert page.total == len(page.rows)
    return [row["record_id"] for row in page.rows]


def test_every_row_in_status_order(rows: RowQuery) -> None:
    page = rows.page(Filters())
    assert [r["record_id"] for r in page.rows] == ALL_IDS
    assert page.counts == {"accepted": 4, "rejected": 3, "quarantined": 1}


def test_filters_combine(rows: RowQuery) -> None:
    assert ids(rows, task="mcq", status="rejected") == ["rej-mcq-1", "rej-mcq-2"]
    assert ids(rows, split="val") == ["acc-val-1", "quar-mcq-1"]
    assert ids(rows, focus=["scene", "emotion"]) == ["acc-mcq-2", "rej-mcq-2"]
    assert ids(rows, reason="refusal") == ["rej-detail-1"]
    assert ids(rows, source="AudioCaps-Detail") == ["acc-detail-1"]
    assert ids(rows, audio_contribution="weak") == ["acc-mcq-2"]
    assert ids(rows, audio_contribution=NOT_SET) == ["acc-detail-1"]
    assert ids(rows, status="accepted", reason=NOT_SET) == ids(rows, status="accepted")
    assert ids(rows, task="caption") == []


def test_text_search_is_literal_and_case_blind(rows: RowQuery) -> None:
    assert ids(rows, q="REACTING") == ["acc-detail-1"]  # question
    assert ids(rows, q="engine sound") == ["acc-detail-1"]  # answer
    assert ids(rows, q="100%") == ["acc-val-1"]
    assert ids(rows, q="sound_here") == ["acc-val-1"]
    assert ids(rows, q="100_") == []  # "_" is a letter here, not a LIKE wildcard
    assert ids(rows, q="in the caption", status="rejected") == ["rej-mcq-1"]


def test_pages_cover_every_row_once(rows: RowQuery) -> None:
    seen = []
    for offset in range(0, 9, 3):
        page = rows.page(Filters(), offset=offset, size=3)
        seen += [r["record_id"] for r in page.rows]
    assert seen == ALL_IDS
    assert rows.page(Filters(), offset=100).rows == []


def test_reason_and_message_when_present(rows: RowQuery) -> None:
    by_id = {r["record_id"]: r for r in rows.page(Filters()).rows}
    assert (by_id["rej-mcq-1"]["reason"], by_id["rej-mcq-1"]["message"]) == (
        "text_leak",
        "copies it",
    )
    assert by_id["rej-mcq-2"]["message"] is None
    # The quarantine file has no message column at all: the row still reads, without one.
    assert (by_id["quar-mcq-1"]["reason"], by_id["quar-mcq-1"]["message"]) == ("http_error", None)
    assert by_id["acc-mcq-1"]["reason"] is None
    assert by_id["acc-mcq-1"]["options"] == ACCEPTED["train"][0]["options"]


def test_facets_count_values_over_every_status(rows: RowQuery) -> None:
    facets = rows.facets().values
    assert facets["task"] == {"detail": 2, "mcq": 6}
    assert facets["reason"] == {
        NOT_SET: 4,
        "http_error": 1,
        "options_duplicate": 1,
        "refusal": 1,
        "text_leak": 1,
    }
    assert facets["audio_contribution"][NOT_SET] == 1


def test_filters_round_trip_through_the_url() -> None:
    query = {"task": ["mcq", "mcq", " "], "q": ["  dog "], "page": ["2"], "bogus": ["x"]}
    filters = Filters.from_query(query)
    assert filters == Filters(task=("mcq",), q="dog")
    assert filters.pairs() == [("task", "mcq"), ("q", "dog")]


def test_page_escapes_and_marks_the_correct_option(rows: RowQuery, run_folder: Path) -> None:
    folder = open_folder(run_folder)
    filters = Filters(split=("val",))
    html = render_page(
        folder, rows.facets(), filters, rows.page(filters), statuses=rows.statuses, audio=True
    )
    assert "100% &lt;b&gt;loudest&lt;/b&gt;" in html
    assert '<li class="correct">(b) rain falling ✓</li>' in html
    assert 'src="/audio/clips/a2.wav"' in html
    assert 'src="/plots/answer_letters.png"' in html
    assert "http_error" in html


def test_summary_figures_from_run_json(run_folder: Path) -> None:
    figures = dict(summary_figures(open_folder(run_folder).summary))
    assert figures["model"] == "test-model"
    assert figures["accepted"] == 4
    assert figures["rejected"] == {"options_duplicate": 1, "refusal": 1, "text_leak": 1}


def test_build_folder_reads_set_aside_rows_of_its_parts(tmp_path: Path) -> None:
    write_run(tmp_path / "build")
    part = tmp_path / "build" / "_synthetic" / "clotho_mcq" / "_rejected"
    part.mkdir(parents=True)
    table = pa.Table.from_pylist(
        [qa_row("part-rej-1") | {"reason": "ungrounded"}], SET_ASIDE_SCHEMA
    )
    pq.write_table(table, part / "rejected-00000.parquet")
    folder = open_folder(tmp_path / "build")
    assert folder.kind == "build"
    query = RowQuery(folder, threads=1)
    try:
        assert ids(query, status="rejected")[-1] == "part-rej-1"
    finally:
        query.close()


def test_not_a_run_folder(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="not a run or build folder"):
        open_folder(tmp_path)
    with pytest.raises(InputError, match="no such folder"):
        open_folder(tmp_path / "missing")


def test_broken_parquet_is_one_line(tmp_path: Path) -> None:
    (tmp_path / "data").mkdir()
    (tmp_path / "data" / "train-00000.parquet").write_bytes(b"not parquet at all")
    with pytest.raises(InputError, match="cannot read Parquet") as err:
        RowQuery(open_folder(tmp_path), threads=1)
    assert "\n" not in str(err.value)


def test_audio_paths_stay_inside_the_root(tmp_path: Path) -> None:
    root = tmp_path / "audio"
    (root / "clips").mkdir(parents=True)
    (root / "clips" / "a.wav").write_bytes(b"RIFF")
    (tmp_path / "secret.txt").write_text("x")
    (root / "link.txt").symlink_to(tmp_path / "secret.txt")
    assert confined(root, "clips/a.wav") == root / "clips" / "a.wav"
    for escape in ("../secret.txt", "clips/../../secret.txt", str(tmp_path / "secret.txt")):
        with pytest.raises(web.HTTPForbidden):
            confined(root, escape)
    with pytest.raises(web.HTTPForbidden):
        confined(root, "link.txt")  # a link out of the root is outside it too
    with pytest.raises(web.HTTPNotFound):
        confined(root, "clips/missing.wav")


def test_page_links_keep_the_filters(rows: RowQuery, run_folder: Path) -> None:
    folder = open_folder(run_folder)
    filters = Filters(task=("mcq",), q="which")

    def render(offset: int) -> str:
        page = rows.page(filters, offset=offset, size=2)
        return render_page(
            folder, rows.facets(), filters, page, statuses=rows.statuses, audio=False
        )

    first = render(0)
    assert 'href="/?task=mcq&amp;q=which&amp;page=2&amp;size=2"' in first
    assert 'rel="prev"' not in first
    last = render(4)  # 5 MCQs ask "which": the fifth is alone on page 3
    assert 'href="/?task=mcq&amp;q=which&amp;page=2&amp;size=2"' in last
    assert 'rel="next"' not in last
    assert "<audio" not in last  # no --audio-root, no player
