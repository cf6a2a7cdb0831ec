"""Whether a run folder already holds a finished run of given settings, without opening a
session: what ``build`` asks of each synthetic part before generating anything.

A run is finished when its journal's fingerprint is the one these settings give and its last
finalize stamp (``finalize.finalized_result``) still matches its records and shards: nothing
was added, released or reset since. Such a part is reused as it stands, in milliseconds.
"""

from __future__ import annotations

from dataclasses import dataclass

from reasonaqa.backends.registry import model_name
from reasonaqa.config import GenerateConfig
from reasonaqa.engine.finalize import FinalizeResult, finalized_result
from reasonaqa.engine.fingerprint import fingerprint, fingerprint_payload
from reasonaqa.engine.journal import Journal
from reasonaqa.engine.preflight import template_ids
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
    return fingerprint(fingerprint_payload(config, model_name(config), hashes))


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
