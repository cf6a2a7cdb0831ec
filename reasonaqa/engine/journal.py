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

Size (BENCHMARKS.md: 2.8 KB per synthetic record before, under 1 KB now): rows and replies
are stored deflate-compressed against a preset dictionary of the QA row's keys
(``_ROW_DICT``); a row leaves its clip's captions out, kept once per clip in ``clips``; request
keys (16 raw bytes each) are kept only for quarantined records, the only ones ``retry-failed``
reads them for; finish reasons only when one is not ``stop``; and finalize sorts in temporary
tables instead of keeping indexes. Journals written before hold plain JSON text and the old
indexes; every reader accepts both.
"""

from __future__ import annotations

import hashlib
import sqlite3
import zlib
from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path
from typing import Any

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
_NO_CAPTIONS = b"\x02"  # the same, of a row whose captions are its clip's, in ``clips``
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
CREATE TABLE IF NOT EXISTS clips (clip_key TEXT PRIMARY KEY, captions BLOB NOT NULL);
"""
# Journals before kept these for finalize; now it sorts in temporary tables (no disk kept).
_OLD_INDEXES = """
DROP INDEX IF EXISTS records_status;
DROP INDEX IF EXISTS records_clip;
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
        self._pending_clips: dict[str, bytes] = {}
        # clip key -> digest of its captions JSON as stored in ``clips`` (looked up once per
        # clip and session). Digests, not the JSON: orjson's bytes each hold a 4 KB buffer.
        self._clip_captions: dict[str, bytes] = {}
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
        texts = orjson.loads(unpack(row[0]))
        finish = orjson.loads(row[1]) if row[1] else ["stop"] * len(texts)
        return Completion(texts, finish, row[2], row[3])

    def put_response(self, key: str, completion: Completion) -> None:
        stopped = all(reason == "stop" for reason in completion.finish_reasons)
        self._pending_responses.append(
            (
                bytes.fromhex(key),
                pack(orjson.dumps(completion.texts)),
                b"" if stopped else orjson.dumps(completion.finish_reasons),
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
        records = [self._stored(r) for r in self._pending_records]
        with self._transaction():
            if records:
                self._bump_records_version()
            self.db.executemany(
                "INSERT OR IGNORE INTO clips VALUES (?, ?)", self._pending_clips.items()
            )
            self.db.executemany(
                "INSERT OR IGNORE INTO responses VALUES (?, ?, ?, ?, ?)", self._pending_responses
            )
            self.db.executemany(
                "INSERT OR IGNORE INTO records VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)", records
            )
        self._pending_responses.clear()
        self._pending_records.clear()
        self._pending_clips.clear()

    def _stored(self, r: FinishedRecord) -> tuple[object, ...]:
        """A record as its table row: packed row, request keys only where they are read."""
        keys = b"".join(map(bytes.fromhex, r.request_keys)) if r.status == "quarantined" else b""
        return (
            r.record_id,
            r.status,
            r.reason,
            r.split,
            r.task,
            r.clip_key,
            r.order_key,
            keys,
            self._pack_row(r.clip_key, _with_why(r)),
        )

    def _pack_row(self, clip_key: str, row: dict[str, Any]) -> bytes:
        """The row packed without its captions when they are its clip's (stored once)."""
        captions = row.get("captions")
        if not isinstance(captions, list):
            return pack(orjson.dumps(row))
        blob = orjson.dumps(captions)
        digest = _digest(blob)
        if clip_key not in self._clip_captions:
            stored = self.db.execute(
                "SELECT captions FROM clips WHERE clip_key = ?", (clip_key,)
            ).fetchone()
            if stored is None:
                self._pending_clips[clip_key] = blob
            self._clip_captions[clip_key] = digest if stored is None else _digest(stored[0])
        if self._clip_captions[clip_key] != digest:
            return pack(orjson.dumps(row))
        bare = orjson.dumps({k: v for k, v in row.items() if k != "captions"})
        return _NO_CAPTIONS + pack(bare)[1:]

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

    def prepare_finalize(self) -> None:
        """Drop the indexes journals before kept (finalize now sorts in temporary tables)."""
        self.db.executescript(_OLD_INDEXES)

    def _sorted(self, name: str, where: str, order: str) -> None:
        """A TEMP table of record rowids in ``order``: a sort of keys only, like an index
        build, without keeping an index in the journal. Read it back by its own rowid."""
        self.db.execute(f"DROP TABLE IF EXISTS temp.{name}")
        self.db.execute(
            f"CREATE TEMP TABLE {name} AS SELECT r.rowid AS ref FROM records r "
            f"WHERE {where} ORDER BY {order}"
        )

    def iter_questions_by_clip(self) -> Iterator[tuple[str, str, str]]:
        """Accepted (record_id, clip_key, question), clip by clip, in seeded order within a clip."""
        self._sorted("by_clip", "r.status = 'accepted'", "r.clip_key, r.order_key")
        rows = self.db.execute(
            "SELECT r.record_id, r.clip_key, r.row FROM temp.by_clip b "
            "JOIN records r ON r.rowid = b.ref ORDER BY b.rowid"
        )
        return ((rid, clip, orjson.loads(unpack(row))["question"]) for rid, clip, row in rows)

    def mark_duplicates(self, found: Iterable[tuple[str, str, str]]) -> None:
        """Remember (record_id, reason, message) duplicates for this finalize only (TEMP)."""
        self.db.execute("DROP TABLE IF EXISTS temp.duplicates")
        self.db.execute(
            "CREATE TEMP TABLE duplicates (record_id TEXT PRIMARY KEY, reason TEXT, message TEXT)"
        )
        self.db.executemany("INSERT INTO temp.duplicates VALUES (?, ?, ?)", found)

    def iter_final(self) -> Iterator[tuple[str, bytes]]:
        """(split, row JSON) of accepted rows that are not duplicates, by split, in seeded order."""
        self._sorted(
            "final",
            "r.status = 'accepted' AND r.record_id NOT IN (SELECT record_id FROM temp.duplicates)",
            "r.split, r.order_key",
        )
        rows = self.db.execute(
            "SELECT r.split, r.row, c.captions FROM temp.final f "
            "JOIN records r ON r.rowid = f.ref LEFT JOIN clips c ON c.clip_key = r.clip_key "
            "ORDER BY f.rowid"
        )
        return ((split, unpack(row, captions)) for split, row, captions in rows)

    def iter_set_aside(self) -> Iterator[tuple[str, bytes]]:
        """(status, row JSON with its reason and message) of rejected, quarantined and
        duplicate rows; a duplicate's message says what it duplicates."""
        rows = self.db.execute(
            "SELECT r.status, r.reason, NULL, r.row, c.captions FROM records r "
            "LEFT JOIN clips c ON c.clip_key = r.clip_key WHERE r.status != 'accepted' "
            "UNION ALL SELECT 'rejected', d.reason, d.message, r.row, c.captions "
            "FROM temp.duplicates d JOIN records r ON r.record_id = d.record_id "
            "LEFT JOIN clips c ON c.clip_key = r.clip_key ORDER BY 1"
        )
        for status, reason, message, row, captions in rows:
            data = _with(unpack(row, captions), "reason", reason)
            yield status, data if message is None else _with(data, "message", message)

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
            self.db.execute("DELETE FROM clips")
            self.db.execute("DELETE FROM meta")
            # Keep counting on: a finalize stamp of the old records must never match again.
            self.set_meta("records_version", str(version + 1))
        self._clip_captions.clear()

    def _transaction(self) -> _Transaction:
        return _Transaction(self.db)

    def close(self) -> None:
        self.commit()
        self.db.close()


def _with_why(record: FinishedRecord) -> dict[str, Any]:
    """The row to store; a set-aside row keeps its why (message, judge reply)."""
    if record.status == "accepted":
        return record.row
    return record.row | {"message": record.message, "judge_reply": record.judge_reply}


def pack(data: bytes) -> bytes:
    """Compress a JSON value for the journal (see ``_ROW_DICT``)."""
    packer = zlib.compressobj(6, zlib.DEFLATED, _WBITS, 8, zlib.Z_DEFAULT_STRATEGY, _ROW_DICT)
    return _ZLIB_V1 + packer.compress(data) + packer.flush()


def unpack(value: bytes | str, captions: bytes | None = None) -> bytes:
    """A stored JSON value as bytes: compressed (this version) or plain text (journals before).

    A row stored without its clip's captions gets ``captions`` (the JSON list) back.
    """
    if isinstance(value, str):
        return value.encode()
    if value[:1] in (_ZLIB_V1, _NO_CAPTIONS):
        unpacker = zlib.decompressobj(_WBITS, _ROW_DICT)
        data = unpacker.decompress(value[1:]) + unpacker.flush()
        if value[:1] == _NO_CAPTIONS:
            return _with(data, "captions", captions if captions is not None else b"[]")
        return data
    return bytes(value)


def _digest(blob: bytes) -> bytes:
    return hashlib.blake2b(blob, digest_size=16).digest()


def _with(row: bytes, name: str, value: object) -> bytes:
    """The JSON object ``row`` with member ``name`` added; bytes values are JSON already."""
    encoded = value if isinstance(value, bytes) else orjson.dumps(value)
    return row[:-1] + b',"' + name.encode() + b'":' + encoded + b"}"


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
