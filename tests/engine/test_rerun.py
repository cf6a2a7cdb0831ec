"""Reruns of a finished run (no finalize work) and ``retry-failed --reseed``, in-process."""

from __future__ import annotations

import pandas as pd
import pytest

import reasonaqa.engine.finalize as finalize_module
from reasonaqa.backends.base import ChatRequest
from reasonaqa.config import GenerateConfig
from reasonaqa.engine.generate import generate
from reasonaqa.engine.journal import Journal
from reasonaqa.engine.session import RunResult, release_quarantined
from reasonaqa.engine.work import item_seed, iter_work
from reasonaqa.sources.manifests import read_manifest
from reasonaqa.storage.layout import RunPaths
from reasonaqa.testing.scripted import ScriptedBackend, valid_reply


def _run(config: GenerateConfig, script=valid_reply) -> RunResult:
    return generate(config, ScriptedBackend(script))


def _refuse(*_: object, **__: object) -> None:
    raise AssertionError("finalize must not rework a run whose records did not change")


def test_a_finished_run_is_not_finalized_again(
    config: GenerateConfig, monkeypatch: pytest.MonkeyPatch
) -> None:
    first = _run(config)
    rows = pd.read_parquet(config.output)
    monkeypatch.setattr(finalize_module, "_find_duplicates", _refuse)
    monkeypatch.setattr(finalize_module, "_write_final", _refuse)
    again = _run(config)
    assert again.final == first.final
    pd.testing.assert_frame_equal(pd.read_parquet(config.output), rows)


def test_a_missing_shard_or_other_shard_size_finalizes_again(config: GenerateConfig) -> None:
    _run(config)
    for shard in RunPaths(config.output).data.glob("*.parquet"):
        shard.unlink()
    assert _run(config).accepted == 6
    assert len(list(RunPaths(config.output).data.glob("*.parquet"))) == 2
    smaller = config.model_copy(update={"shard_rows": 1})
    assert len(_run(smaller).final.shards) == 6


def test_reseed_gives_released_items_new_seeds_and_keeps_their_ids(
    config: GenerateConfig,
) -> None:
    """A deterministic model that always fails a seeded request: --reseed gets past it."""
    first_seeds = set()

    def fails_first_seeds(request: ChatRequest, index: int) -> str:
        return "{not json" if request.seed in first_seeds else valid_reply(request, index)

    ids = _ids_of(config)
    first_seeds.update(item_seed(config.seed, rid) for rid in ids)
    assert _run(config, fails_first_seeds).counts.quarantined == {"schema": 6}

    plain, count = release_quarantined(config.output, {"progress": False})
    assert count == 6
    assert _run(plain, fails_first_seeds).counts.quarantined == {"schema": 6}  # same again

    reseeded, _ = release_quarantined(config.output, {"progress": False}, reseed=True)
    result = _run(reseeded, fails_first_seeds)
    assert result.accepted == 6 and not result.quarantined
    rows = pd.read_parquet(config.output)
    assert sorted(rows["record_id"]) == sorted(ids)
    assert set(rows["seed"]) == {item_seed(config.seed, rid, 1) for rid in ids}


def _ids_of(config: GenerateConfig) -> list[str]:
    return [item.record_id for item in iter_work(config, read_manifest(config.manifest))]


def test_reseeds_are_forgotten_by_force_new(config: GenerateConfig) -> None:
    _run(config)
    journal = Journal(RunPaths(config.output).journal)
    journal.reseed(["x"])
    journal.reset_records()
    assert journal.reseeds() == {}
    journal.close()
