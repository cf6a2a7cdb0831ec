"""The journal: buffered records commit in one transaction; ids are written once."""

from __future__ import annotations

from pathlib import Path

from reasonaqa.backends.base import Completion
from reasonaqa.engine.journal import Journal
from reasonaqa.engine.records import FinishedRecord


def _record(rid: str, status: str = "accepted") -> FinishedRecord:
    return FinishedRecord(
        rid, status, None, "train", "mcq", "ac/clip", rid, ["ab" * 16], {"q": rid}
    )  # type: ignore[arg-type]


def test_records_are_durable_only_after_commit(tmp_path: Path) -> None:
    journal = Journal(tmp_path / "j.sqlite")
    journal.add_record(_record("a"))
    assert journal.pending == 1 and journal.record_ids() == set()
    journal.commit()
    assert journal.record_ids() == {"a"} and journal.pending == 0
    journal.close()


def test_a_record_id_is_written_once(tmp_path: Path) -> None:
    journal = Journal(tmp_path / "j.sqlite")
    journal.add_record(_record("a"))
    journal.add_record(_record("a", "rejected"))
    journal.commit()
    assert journal.status_counts() == {("accepted", None): 1}
    journal.close()


def test_responses_round_trip_and_are_found_after_reopen(tmp_path: Path) -> None:
    path = tmp_path / "j.sqlite"
    journal = Journal(path)
    key = "ab" * 16
    journal.put_response(key, Completion(["x"], ["stop"], 3, 4))
    journal.close()
    reopened = Journal(path)
    assert reopened.get_response(key) == Completion(["x"], ["stop"], 3, 4)
    assert reopened.committed_among(["a", "b"]) == set()
    reopened.close()
