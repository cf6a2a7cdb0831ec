"""Filter and page rows in DuckDB straight from the Parquet files, never loading a whole run.

Each status (accepted, rejected, quarantined) is one view over its files. A page is found by
counting matches per status and reading only the status segments the page falls in, with
LIMIT/OFFSET on a plain scan: DuckDB keeps the files' row order there, so pages are stable
without a sort of millions of rows.
"""

from __future__ import annotations

import tempfile
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any

import duckdb

from reasonaqa.errors import InputError
from reasonaqa.viewer.folder import STATUSES, Folder, Status

# A filter value meaning "the column is null", as the dataset card writes it.
NOT_SET = "(not set)"
FILTER_COLUMNS: tuple[str, ...] = (
    "split",
    "task",
    "focus",
    "source",
    "audio_contribution",
    "reason",
)
# Columns the page shows, with the type a view gets when its files lack the column: older
# set-aside files have no ``message``, and accepted rows have neither ``reason`` nor ``message``.
SHOWN: dict[str, str] = {
    "record_id": "VARCHAR",
    "origin": "VARCHAR",
    "source": "VARCHAR",
    "dataset": "VARCHAR",
    "split": "VARCHAR",
    "clip_id": "VARCHAR",
    "audio_path": "VARCHAR",
    "captions": "VARCHAR[]",
    "task": "VARCHAR",
    "question": "VARCHAR",
    "answer": "VARCHAR",
    "options": "VARCHAR[]",
    "answer_letter": "VARCHAR",
    "focus": "VARCHAR",
    "clip_id_2": "VARCHAR",
    "audio_path_2": "VARCHAR",
    "captions_2": "VARCHAR[]",
    "audio_contribution": "VARCHAR",
    "reason": "VARCHAR",
    "message": "VARCHAR",
}
DEFAULT_PAGE_SIZE = 50
MAX_PAGE_SIZE = 200


@dataclass(frozen=True)
class Filters:
    """What the page asks for; every field is also a URL query parameter of the same name."""

    status: tuple[str, ...] = ()
    split: tuple[str, ...] = ()
    task: tuple[str, ...] = ()
    focus: tuple[str, ...] = ()
    source: tuple[str, ...] = ()
    audio_contribution: tuple[str, ...] = ()
    reason: tuple[str, ...] = ()
    q: str = ""

    @classmethod
    def from_query(cls, query: Mapping[str, Sequence[str]]) -> Filters:
        """From ``{name: [values]}``; empty values mean "any", unknown names are ignored."""
        values: dict[str, Any] = {}
        for item in fields(cls):
            given = [v.strip() for v in query.get(item.name, ()) if v.strip()]
            if item.name == "q":
                values["q"] = given[0] if given else ""
            else:
                values[item.name] = tuple(dict.fromkeys(given))
        return cls(**values)

    def pairs(self) -> list[tuple[str, str]]:
        """Back to URL query pairs, for links that keep the filters (pagination)."""
        out = [(item.name, v) for item in fields(self) if item.name != "q" for v in self[item.name]]
        return [*out, ("q", self.q)] if self.q else out

    def __getitem__(self, name: str) -> tuple[str, ...]:
        value = getattr(self, name)
        return value if isinstance(value, tuple) else (value,)


@dataclass
class Page:
    """One page of rows, with how many rows match in each status."""

    rows: list[dict[str, Any]]
    counts: dict[Status, int]
    offset: int
    size: int

    @property
    def total(self) -> int:
        return sum(self.counts.values())


@dataclass
class Facets:
    """Values present in each filter column, with their row counts, for the page's menus."""

    values: dict[str, dict[str, int]] = field(default_factory=dict)


class RowQuery:
    """Read-only queries over a folder's Parquet files; safe to call from several threads."""

    def __init__(self, folder: Folder, threads: int | None = None) -> None:
        config: dict[str, Any] = {
            # Spill, if ever, to the system temp folder: never into the user's run folder.
            "temp_directory": str(Path(tempfile.gettempdir()) / "reasonaqa-viewer"),
            "memory_limit": "1GB",
        }
        if threads is not None:
            config["threads"] = threads
        self._con = duckdb.connect(":memory:", config=config)
        self.statuses: tuple[Status, ...] = tuple(s for s in STATUSES if folder.files[s])
        try:
            for status in self.statuses:
                self._con.execute(_view_sql(self._con, status, folder.files[status]))
        except duckdb.Error as err:
            raise InputError(f"cannot read Parquet: {_one_line(err)}", file=folder.root) from err
        self._facets: Facets | None = None

    def close(self) -> None:
        self._con.close()

    def page(self, filters: Filters, offset: int = 0, size: int = DEFAULT_PAGE_SIZE) -> Page:
        """Rows ``offset`` to ``offset + size`` of those matching, accepted first."""
        size = max(1, min(size, MAX_PAGE_SIZE))
        offset = max(0, offset)
        con = self._con.cursor()  # one cursor per call: a DuckDB connection is not shared
        try:
            wanted = [s for s in self.statuses if not filters.status or s in filters.status]
            where, params = _where(filters)
            counts: dict[Status, int] = {s: 0 for s in self.statuses}
            for status in wanted:
                sql = f"SELECT count(*) FROM {status} WHERE {where}"
                found = con.execute(sql, params).fetchone()
                counts[status] = int(found[0]) if found else 0
            rows = _segment_rows(con, wanted, counts, where, params, offset, size)
        finally:
            con.close()
        return Page(rows, counts, offset, size)

    def facets(self) -> Facets:
        """Distinct values of the filter columns over every status (computed once)."""
        if self._facets is None:
            self._facets = self._compute_facets()
        return self._facets

    def _compute_facets(self) -> Facets:
        con = self._con.cursor()
        try:
            union = " UNION ALL ".join(
                f"SELECT {', '.join(FILTER_COLUMNS)} FROM {s}" for s in self.statuses
            )
            facets = Facets()
            for column in FILTER_COLUMNS:
                sql = (
                    f"SELECT coalesce({column}, '{NOT_SET}') AS v, count(*) FROM ({union}) "
                    f"GROUP BY v ORDER BY v"
                )
                facets.values[column] = {str(v): int(n) for v, n in con.execute(sql).fetchall()}
        finally:
            con.close()
        return facets


def _view_sql(con: duckdb.DuckDBPyConnection, status: Status, files: Sequence[Path]) -> str:
    """A view with exactly the SHOWN columns; columns its files lack are typed NULLs."""
    source = f"read_parquet([{', '.join(_literal(str(p)) for p in files)}], union_by_name=true)"
    present = {row[0] for row in con.execute(f"DESCRIBE SELECT * FROM {source}").fetchall()}
    columns = [
        name if name in present else f"CAST(NULL AS {kind}) AS {name}"
        for name, kind in SHOWN.items()
    ]
    return f"CREATE VIEW {status} AS SELECT {', '.join(columns)} FROM {source}"


def _literal(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def _where(filters: Filters) -> tuple[str, list[Any]]:
    """The WHERE clause and its parameters; column names come from our own list, never input."""
    clauses: list[str] = []
    params: list[Any] = []
    for column in FILTER_COLUMNS:
        wanted = filters[column]
        if not wanted:
            continue
        parts = []
        values = [v for v in wanted if v != NOT_SET]
        if values:
            parts.append(f"{column} IN ({', '.join('?' * len(values))})")
            params.extend(values)
        if NOT_SET in wanted:
            parts.append(f"{column} IS NULL")
        clauses.append("(" + " OR ".join(parts) + ")")
    if filters.q:
        pattern = "%" + _escape_like(filters.q) + "%"
        clauses.append("(question ILIKE ? ESCAPE '\\' OR answer ILIKE ? ESCAPE '\\')")
        params.extend([pattern, pattern])
    return (" AND ".join(clauses) or "true"), params


def _escape_like(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def _segment_rows(
    con: duckdb.DuckDBPyConnection,
    wanted: Sequence[Status],
    counts: Mapping[Status, int],
    where: str,
    params: list[Any],
    offset: int,
    size: int,
) -> list[dict[str, Any]]:
    """The page's rows, read from each status segment it overlaps, in status order."""
    rows: list[dict[str, Any]] = []
    for status in wanted:
        if len(rows) >= size:
            break
        if offset >= counts[status]:
            offset -= counts[status]
            continue
        take = size - len(rows)
        sql = f"SELECT * FROM {status} WHERE {where} LIMIT {take} OFFSET {offset}"
        cursor = con.execute(sql, params)
        names = [d[0] for d in cursor.description]
        rows.extend(
            {"status": status, **dict(zip(names, r, strict=True))} for r in cursor.fetchall()
        )
        offset = 0
    return rows


def _one_line(err: BaseException) -> str:
    return " ".join(str(err).split())
