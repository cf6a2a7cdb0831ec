"""The durable request journal: one SQLite file beside the shards.

Three tables carry all of a run's state:
- ``responses``: every LLM answer, keyed by the hash of the exact request (stored as 16
  bytes: a short key keeps its index small), so a rerun after any interruption repeats no
  call that was already answered;
- ``records``: every finished record with its status (accepted, rejected, quarantined), its
  reason and its row; a record id is written once (PRIMARY KEY), so there are no duplicates;
- ``meta``: the run fingerprint, the saved configuration, ``records_version`` (bumped by
  every change to ``records``) and the last finalize's stamp;
- ``reseeds``: records that ``retry-failed --reseed`` gave a new seed, and how many times.

Writes are buffered and committed in chunks: a crash loses at most the last chunk, and what
it loses is only redone, never doubled, because committed record ids are skipped on resume.

Size: rows and replies are stored deflate-compressed against a preset dictionary of the QA
row's keys (``_ROW_DICT``), request keys as 16 raw bytes each: about 0.8 KB per synthetic
record in all instead of 2.8 KB (BENCHMARKS.md). Journals written before hold plain JSON
text; every reader accepts both.
"""

from __future__ import annotations

import sqlite3
import zlib
from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path

import orjson

from reasonaqa.backends.base import Completion
from reasonaqa.engine.records import FinishedRecord

# Never change these bytes: stored rows decompress against them. A new dictionary needs a new
# format byte (``_ZLIB_V1`` below) and both kept for reading. Most frequent strings last.
_ROW_DICT = (
    b'"AudioCaps-captions","Clotho-captions","ClothoAQA","difference","caption","aqa",'
    b'"existing","judge_unreadable","transport","timeout","length","schema","semantic",'
    b'"mcq_plain","detail_plain","sound_events","sources","scene","signal","semantics",'
    b'"emotion","weak","strong","development","validation","evaluation","train","val","test",'
    b'"Clotho-Detail","Clotho-MCQ","AudioCaps-Detail","AudioCaps-MCQ","clotho","audiocaps",'
    b'{"question":"options":["answer":"focus":"The audio","the audio","sound of a ",'
    b'"mcq_expert","detail_expert","synthetic",true,false,null,[],'
    b'{"record_id":"","origin":"synthetic","source":"","dataset":"","split":"","clip_id":"",'
    b'"audio_path":"","captions":[""],"task":"","question":"","answer":"","options":[],'
    b'"answer_letter":null,"focus":"","clip_id_2":null,"audio_path_2":null,"captions_2":[],'
    b'"caption_index":0,"sample_index":0,"agreement":null,"raw":"{\\"question\\": \\"",'
    b'"model":"","template_id":"","template_hash":"","seed":0,"audio_contribution":null,'
    b'"audio_votes":[],"grounded":true,"created_at":"2026-01-01T00:00:00.000000+00:00"}'
)
_ZLIB_V1 = b"\x01"  # first byte of a compressed value: raw deflate against _ROW_DICT
_WBITS = -12  # a 4 KB window: rows are 1-2 KB, so a larger one buys nothing and costs setup

_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS responses (
    key BLOB PRIMARY KEY,
    texts BLOB NOT NULL,
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
    request_keys BLOB NOT NULL,
    row BLOB NOT NULL
);
CREATE TABLE IF NOT EXISTS reseeds (record_id TEXT PRIMARY KEY, generation INTEGER NOT NULL);
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
        return Completion(orjson.loads(unpack(row[0])), orjson.loads(row[1]), row[2], row[3])

    def put_response(self, key: str, completion: Completion) -> None:
        self._pending_responses.append(
            (
                bytes.fromhex(key),
                pack(orjson.dumps(completion.texts)),
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
            if self._pending_records:
                self._bump_records_version()
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
                        b"".join(bytes.fromhex(k) for k in r.request_keys),
                        pack(orjson.dumps(r.row)),
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

    @property
    def records_version(self) -> int:
        """Bumped by every transaction that adds, deletes or resets records: a change marker."""
        return int(self.get_meta("records_version") or 0)

    def _bump_records_version(self) -> None:
        self.db.execute(
            "INSERT INTO meta VALUES ('records_version', '1') ON CONFLICT (key) "
            "DO UPDATE SET value = CAST(value AS INTEGER) + 1"
        )

    def index_for_finalize(self) -> None:
        self.db.executescript(_FINALIZE_INDEXES)

    def iter_questions_by_clip(self) -> Iterator[tuple[str, str, str]]:
        """Accepted (record_id, clip_key, question), clip by clip, in seeded order within a clip."""
        rows = self.db.execute(
            "SELECT record_id, clip_key, row FROM records "
            "WHERE status = 'accepted' ORDER BY clip_key, order_key"
        )
        return ((rid, clip, orjson.loads(unpack(row))["question"]) for rid, clip, row in rows)

    def mark_duplicates(self, found: Iterable[tuple[str, str]]) -> None:
        """Remember (record_id, reason) duplicates for this finalize only (a TEMP table)."""
        self.db.execute("DROP TABLE IF EXISTS temp.duplicates")
        self.db.execute("CREATE TEMP TABLE duplicates (record_id TEXT PRIMARY KEY, reason TEXT)")
        self.db.executemany("INSERT INTO temp.duplicates VALUES (?, ?)", found)

    def iter_final(self) -> Iterator[tuple[str, bytes]]:
        """(split, row JSON) of accepted rows that are not duplicates, by split, in seeded order."""
        rows = self.db.execute(
            "SELECT r.split, r.row FROM records r "
            "LEFT JOIN temp.duplicates d ON d.record_id = r.record_id "
            "WHERE r.status = 'accepted' AND d.record_id IS NULL "
            "ORDER BY r.split, r.order_key"
        )
        return ((split, unpack(row)) for split, row in rows)

    def iter_set_aside(self) -> Iterator[tuple[str, str, bytes]]:
        """(status, reason, row JSON with its reason) of rejected, quarantined, duplicate rows."""
        rows = self.db.execute(
            "SELECT status, reason, row FROM records WHERE status != 'accepted' "
            "UNION ALL SELECT 'rejected', d.reason, r.row "
            "FROM temp.duplicates d JOIN records r ON r.record_id = d.record_id "
            "ORDER BY 1"
        )
        return ((status, reason, _with_reason(unpack(row), reason)) for status, reason, row in rows)

    def quarantined(self) -> list[tuple[str, list[str]]]:
        rows = self.db.execute(
            "SELECT record_id, request_keys FROM records WHERE status = 'quarantined'"
        )
        return [(rid, _request_keys(keys)) for rid, keys in rows]

    def delete_records(self, record_ids: Iterable[str]) -> None:
        with self._transaction():
            self._bump_records_version()
            self.db.executemany(
                "DELETE FROM records WHERE record_id = ?", ((r,) for r in record_ids)
            )

    def reseed(self, record_ids: Iterable[str]) -> None:
        """Give these records a new seed generation (``retry-failed --reseed``)."""
        self.db.executemany(
            "INSERT INTO reseeds VALUES (?, 1) ON CONFLICT (record_id) "
            "DO UPDATE SET generation = generation + 1",
            ((r,) for r in record_ids),
        )

    def reseeds(self) -> dict[str, int]:
        """record id -> how many times it was reseeded (few: only ever quarantined items)."""
        return dict(self.db.execute("SELECT record_id, generation FROM reseeds"))

    def reset_records(self) -> None:
        """Forget every record (``--force-new``); cached responses stay valid and are kept."""
        version = self.records_version
        with self._transaction():
            self.db.execute("DELETE FROM records")
            self.db.execute("DELETE FROM reseeds")
            self.db.execute("DELETE FROM meta")
            # Keep counting on: a finalize stamp of the old records must never match again.
            self.set_meta("records_version", str(version + 1))

    def _transaction(self) -> _Transaction:
        return _Transaction(self.db)

    def close(self) -> None:
        self.commit()
        self.db.close()


def pack(data: bytes) -> bytes:
    """Compress a JSON value for the journal (see ``_ROW_DICT``)."""
    packer = zlib.compressobj(6, zlib.DEFLATED, _WBITS, 8, zlib.Z_DEFAULT_STRATEGY, _ROW_DICT)
    return _ZLIB_V1 + packer.compress(data) + packer.flush()


def unpack(value: bytes | str) -> bytes:
    """A stored JSON value as bytes: compressed (this version) or plain text (journals before)."""
    if isinstance(value, str):
        return value.encode()
    if value[:1] == _ZLIB_V1:
        unpacker = zlib.decompressobj(_WBITS, _ROW_DICT)
        return unpacker.decompress(value[1:]) + unpacker.flush()
    return bytes(value)


def _with_reason(row: bytes, reason: str | None) -> bytes:
    """The row JSON object with a ``reason`` member added (rows are objects: ``{...}``)."""
    return row[:-1] + b',"reason":' + orjson.dumps(reason) + b"}"


def _request_keys(value: bytes | str) -> list[str]:
    if isinstance(value, str):  # journals before: a JSON list of hex keys
        return list(orjson.loads(value))
    return [value[i : i + 16].hex() for i in range(0, len(value), 16)]


class _Transaction:
    def __init__(self, db: sqlite3.Connection) -> None:
        self.db = db

    def __enter__(self) -> None:
        self.db.execute("BEGIN IMMEDIATE")

    def __exit__(self, exc_type: object, *_: object) -> None:
        self.db.execute("COMMIT" if exc_type is None else "ROLLBACK")
