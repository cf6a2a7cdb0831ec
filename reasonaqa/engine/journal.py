"""The durable request journal: one SQLite file beside the shards.

Three tables carry all of a run's state:
- ``responses``: every LLM answer, keyed by the hash of the exact request (stored as 16
  bytes: a short key keeps its index small), so a rerun after any interruption repeats no
  call that was already answered;
- ``records``: every finished record with its status (accepted, rejected, quarantined), its
  reason and its row; a record id is written once (PRIMARY KEY), so there are no duplicates;
- ``meta``: the run fingerprint and the saved configuration.

Writes are buffered and committed in chunks: a crash loses at most the last chunk, and what
it loses is only redone, never doubled, because committed record ids are skipped on resume.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path

import orjson

from reasonaqa.backends.base import Completion
from reasonaqa.engine.records import FinishedRecord

_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS responses (
    key BLOB PRIMARY KEY,
    texts TEXT NOT NULL,
    finish TEXT NOT NULL,
    prompt_tokens INTEGER NOT NULL,
    completion_tokens INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS records (
    record_id TEXT PRIMARY KEY,
    status TEXT NOT NULL,
    reason TEXT,
    split TEXT NOT NULL,
    task TEXT NOT NULL,
    clip_key TEXT NOT NULL,
    order_key TEXT NOT NULL,
    request_keys TEXT NOT NULL,
    row TEXT NOT NULL
);
"""
# Finalize reads records in these orders. Built when finalize starts, not kept up while
# records arrive: one sort then is far cheaper than a random index insert per record.
_FINALIZE_INDEXES = """
CREATE INDEX IF NOT EXISTS records_status ON records (status, split, order_key);
CREATE INDEX IF NOT EXISTS records_clip ON records (status, clip_key, order_key);
"""


class Journal:
    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self.path = path
        # The engine runs on one event-loop thread; the Ray driver may hand the journal to
        # a helper thread, hence check_same_thread=False (access is still serial).
        self.db = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
        self.db.execute("PRAGMA journal_mode=WAL")
        self.db.execute("PRAGMA synchronous=NORMAL")
        # Fixed caches, and sorts spill to disk: memory stays flat however large the run grows.
        self.db.execute("PRAGMA cache_size=-8192")
        self.db.execute("PRAGMA temp_store=FILE")
        # Checkpoint every 64 MB of WAL rather than 4 MB: record inserts land on random index
        # pages, rewritten by many commits, and a checkpoint copies only a page's last version.
        self.db.execute("PRAGMA wal_autocheckpoint=16384")
        self.db.executescript(_SCHEMA)
        self._pending_responses: list[tuple[bytes, bytes, bytes, int, int]] = []
        self._pending_records: list[FinishedRecord] = []
        # A journal with no answers at start can only hit answers of this session, and each
        # request of a session is new (its seed or messages differ), so lookups are skipped.
        self._lookups = self.db.execute("SELECT 1 FROM responses LIMIT 1").fetchone() is not None

    # -- meta ---------------------------------------------------------------------------

    def get_meta(self, key: str) -> str | None:
        row = self.db.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
        return row[0] if row else None

    def set_meta(self, key: str, value: str) -> None:
        self.db.execute("INSERT OR REPLACE INTO meta VALUES (?, ?)", (key, value))

    # -- responses ----------------------------------------------------------------------

    def get_response(self, key: str) -> Completion | None:
        if not self._lookups:
            return None
        row = self.db.execute(
            "SELECT texts, finish, prompt_tokens, completion_tokens FROM responses WHERE key = ?",
            (bytes.fromhex(key),),
        ).fetchone()
        if row is None:
            return None
        return Completion(orjson.loads(row[0]), orjson.loads(row[1]), row[2], row[3])

    def put_response(self, key: str, completion: Completion) -> None:
        self._pending_responses.append(
            (
                bytes.fromhex(key),
                orjson.dumps(completion.texts),
                orjson.dumps(completion.finish_reasons),
                completion.prompt_tokens,
                completion.completion_tokens,
            )
        )

    def forget_responses(self, keys: Iterable[str]) -> None:
        self.db.executemany(
            "DELETE FROM responses WHERE key = ?", ((bytes.fromhex(k),) for k in keys)
        )

    # -- records ------------------------------------------------------------------------

    def add_record(self, record: FinishedRecord) -> None:
        self._pending_records.append(record)

    @property
    def pending(self) -> int:
        return len(self._pending_records)

    def commit(self) -> None:
        """Write buffered responses and records in one transaction."""
        if not self._pending_responses and not self._pending_records:
            return
        with self._transaction():
            self.db.executemany(
                "INSERT OR IGNORE INTO responses VALUES (?, ?, ?, ?, ?)", self._pending_responses
            )
            self.db.executemany(
                "INSERT OR IGNORE INTO records VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    (
                        r.record_id,
                        r.status,
                        r.reason,
                        r.split,
                        r.task,
                        r.clip_key,
                        r.order_key,
                        orjson.dumps(list(r.request_keys)),
                        _row_json(r),
                    )
                    for r in self._pending_records
                ),
            )
        self._pending_responses.clear()
        self._pending_records.clear()

    def committed_among(self, record_ids: Sequence[str]) -> set[str]:
        """Which of these ids are already committed (queried in chunks, never all at once)."""
        found: set[str] = set()
        for start in range(0, len(record_ids), 500):
            chunk = record_ids[start : start + 500]
            marks = ",".join("?" * len(chunk))
            found.update(
                r[0]
                for r in self.db.execute(
                    f"SELECT record_id FROM records WHERE record_id IN ({marks})", chunk
                )
            )
        return found

    def record_ids(self) -> set[str]:
        """Every committed record id (for tests and tools; a run holds them all in memory)."""
        return {row[0] for row in self.db.execute("SELECT record_id FROM records")}

    def status_counts(self) -> dict[tuple[str, str | None], int]:
        rows = self.db.execute(
            "SELECT status, reason, COUNT(*) FROM records GROUP BY status, reason"
        )
        return {(status, reason): count for status, reason, count in rows}

    def index_for_finalize(self) -> None:
        self.db.executescript(_FINALIZE_INDEXES)

    def iter_questions_by_clip(self) -> Iterator[tuple[str, str, str]]:
        """Accepted (record_id, clip_key, question), clip by clip, in seeded order within a clip."""
        return iter(
            self.db.execute(
                "SELECT record_id, clip_key, json_extract(row, '$.question') FROM records "
                "WHERE status = 'accepted' ORDER BY clip_key, order_key"
            )
        )

    def mark_duplicates(self, found: Iterable[tuple[str, str, str]]) -> None:
        """Remember (record_id, reason, message) duplicates for this finalize only (TEMP)."""
        self.db.execute("DROP TABLE IF EXISTS temp.duplicates")
        self.db.execute(
            "CREATE TEMP TABLE duplicates (record_id TEXT PRIMARY KEY, reason TEXT, message TEXT)"
        )
        self.db.executemany("INSERT INTO temp.duplicates VALUES (?, ?, ?)", found)

    def iter_final(self) -> Iterator[tuple[str, str]]:
        """(split, row JSON) of accepted rows that are not duplicates, by split, in seeded order."""
        return iter(
            self.db.execute(
                "SELECT r.split, r.row FROM records r "
                "LEFT JOIN temp.duplicates d ON d.record_id = r.record_id "
                "WHERE r.status = 'accepted' AND d.record_id IS NULL "
                "ORDER BY r.split, r.order_key"
            )
        )

    def iter_set_aside(self) -> Iterator[tuple[str, str]]:
        """(status, row JSON with its reason and message) of rejected, quarantined and
        duplicate rows; a duplicate's message says what it duplicates."""
        return iter(
            self.db.execute(
                "SELECT status, json_set(row, '$.reason', reason) FROM records "
                "WHERE status != 'accepted' "
                "UNION ALL SELECT 'rejected', "
                "json_set(r.row, '$.reason', d.reason, '$.message', d.message) "
                "FROM temp.duplicates d JOIN records r ON r.record_id = d.record_id "
                "ORDER BY 1"
            )
        )

    def quarantined(self) -> list[tuple[str, list[str]]]:
        rows = self.db.execute(
            "SELECT record_id, request_keys FROM records WHERE status = 'quarantined'"
        )
        return [(rid, orjson.loads(keys)) for rid, keys in rows]

    def delete_records(self, record_ids: Iterable[str]) -> None:
        self.db.executemany("DELETE FROM records WHERE record_id = ?", ((r,) for r in record_ids))

    def reset_records(self) -> None:
        """Forget every record (``--force-new``); cached responses stay valid and are kept."""
        with self._transaction():
            self.db.execute("DELETE FROM records")
            self.db.execute("DELETE FROM meta")

    def _transaction(self) -> _Transaction:
        return _Transaction(self.db)

    def close(self) -> None:
        self.commit()
        self.db.close()


def _row_json(record: FinishedRecord) -> str:
    """The row as TEXT (so SQLite's json_extract reads it); a set-aside row keeps its why."""
    row = record.row
    if record.status != "accepted":
        row = row | {"message": record.message, "judge_reply": record.judge_reply}
    return orjson.dumps(row).decode()


class _Transaction:
    def __init__(self, db: sqlite3.Connection) -> None:
        self.db = db

    def __enter__(self) -> None:
        self.db.execute("BEGIN IMMEDIATE")

    def __exit__(self, exc_type: object, *_: object) -> None:
        self.db.execute("COMMIT" if exc_type is None else "ROLLBACK")
