"""Whether a run folder already holds a finished run of given settings, without opening a
session: what ``build`` asks of each synthetic part before generating anything.

A run is finished when its journal's fingerprint is the one these settings give and its last
finalize stamp (``finalize.finalized_result``) still matches its records and shards: nothing
was added, released or reset since. Such a part is reused as it stands, in milliseconds.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from reasonaqa.config import GenerateConfig
from reasonaqa.engine.counts import RunCounts
from reasonaqa.engine.finalize import FinalizeResult, finalized_result
from reasonaqa.engine.fingerprint import fingerprint, fingerprint_payload
from reasonaqa.engine.journal import Journal
from reasonaqa.engine.preflight import template_ids
from reasonaqa.errors import InputError
from reasonaqa.prompts.store import TemplateStore
from reasonaqa.storage.layout import RunPaths


@dataclass(frozen=True)
class RunState:
    """What a run folder's journal says: its fingerprint, records version, finished result."""

    fingerprint: str | None
    records_version: int
    finished: FinalizeResult | None


def expected_fingerprint(config: GenerateConfig) -> str:
    """The fingerprint ``generate`` would give a run of these settings (templates included)."""
    store = TemplateStore(config.prompts_dir)
    hashes = {tid: store.get(tid).hash for tid in template_ids(config)}
    return fingerprint(fingerprint_payload(config, config.model_name(), hashes))


def run_state(config: GenerateConfig) -> RunState | None:
    """The state of ``config.output``'s journal; None when there is no run there yet."""
    paths = RunPaths(config.output)
    if not paths.journal.is_file():
        return None
    journal = Journal(paths.journal)
    try:
        return RunState(
            journal.get_meta("fingerprint"),
            journal.records_version,
            finalized_result(journal, paths, config.shard_rows),
        )
    finally:
        journal.close()


def saved_counts(run_dir: Path) -> RunCounts:
    """The counts a finished run wrote to its ``_run.json`` (a reused part's numbers)."""
    path = RunPaths(run_dir).run_manifest
    try:
        info = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as err:
        raise InputError(f"cannot read the run's counts: {err}", file=path) from err
    return RunCounts.from_json(info.get("counts") if isinstance(info, dict) else None, path)
