"""The engine against the fault-injecting server, over real HTTP on 127.0.0.1."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

from reasonaqa.config import GenerateConfig
from reasonaqa.engine.generate import generate
from reasonaqa.engine.journal import Journal
from reasonaqa.engine.session import EXIT_QUARANTINED
from reasonaqa.engine.work import count_work
from reasonaqa.sources.manifests import read_manifest
from reasonaqa.storage.layout import RunPaths
from reasonaqa.testing.fault_server import FAULT_KINDS, uniform_rates
from reasonaqa.testing.runs import fault_server_config
from reasonaqa.testing.servers import fault_server

# Every reason an item can be quarantined for (a judge reply unreadable twice included).
QUARANTINE_REASONS = {"transport", "timeout", "schema", "semantic", "length", "judge_unreadable"}


def _config(manifest: Path, out: Path, url: str, **overrides: object) -> GenerateConfig:
    settings: dict[str, object] = {
        "per_caption": 2,
        "audio_votes": 2,
        "grounding": True,
        "concurrency": 8,
        "timeout_s": 1.0,
        "max_attempts": 6,
        "shard_rows": 50,
    }
    return fault_server_config(manifest, out, url, **(settings | overrides))


def _all_rows(run: Path) -> pd.DataFrame:
    paths = RunPaths(run)
    frames = [pd.read_parquet(run)]
    for folder in (paths.rejected, paths.quarantine):
        if any(folder.glob("*.parquet")):
            frames.append(pd.read_parquet(folder))
    return pd.concat(frames, ignore_index=True)


def test_twenty_percent_faults_of_every_kind_lose_nothing(
    tmp_path: Path, sample_manifest: Path
) -> None:
    out = tmp_path / "run"
    with fault_server(rates=uniform_rates(0.2), log=tmp_path / "server.jsonl", hang_s=2.0) as url:
        result = generate(_config(sample_manifest, out, url))

    config = _config(sample_manifest, out, "http://unused")
    total = count_work(config, read_manifest(sample_manifest))
    rows = _all_rows(out)
    assert len(rows) == total, "every record ends accepted, rejected or quarantined"
    assert rows["record_id"].is_unique
    assert result.accepted + sum(result.rejected.values()) + result.quarantined == total
    assert set(result.final.quarantined) <= QUARANTINE_REASONS
    assert result.accepted > total // 2
    journal = Journal(RunPaths(out).journal)
    committed = sum(journal.status_counts().values())
    journal.close()
    assert committed == total
    log_kinds = {line.get("fault") for line in _log(tmp_path / "server.jsonl")}
    assert set(FAULT_KINDS) <= log_kinds, "every kind of fault was injected"


@pytest.mark.parametrize(
    ("fault", "reason"),
    [
        ("length", "length"),
        ("bad_schema", "schema"),
        ("not_json", "schema"),
        ("server_error", "transport"),
        ("drop", "transport"),
        ("hang", "timeout"),
        ("rate_limit", "transport"),
    ],
)
def test_items_that_keep_failing_are_quarantined_with_their_reason(
    tmp_path: Path, sample_manifest: Path, fault: str, reason: str
) -> None:
    out = tmp_path / "run"
    with fault_server(rates={fault: 1.0}, hang_s=1.5, retry_after_s=0) as url:
        result = generate(
            _config(
                sample_manifest, out, url, limit=3, max_attempts=2, timeout_s=0.5, per_caption=1
            )
        )
    assert result.final.quarantined == {reason: 3}
    assert result.exit_code == EXIT_QUARANTINED
    quarantined = pd.read_parquet(RunPaths(out).quarantine)
    assert set(quarantined["reason"]) == {reason}
    if fault in ("length", "bad_schema", "not_json"):
        assert quarantined["raw"].str.len().min() > 0, "the last raw response is kept"


def _log(path: Path) -> list[dict[str, object]]:
    from reasonaqa.testing.fault_server import read_log

    return read_log(path)


def test_retry_failed_redoes_only_the_quarantined_items(
    tmp_path: Path, sample_manifest: Path
) -> None:
    out = tmp_path / "run"
    with fault_server(rates={"bad_schema": 1.0}) as url:
        first = generate(_config(sample_manifest, out, url, limit=4, per_caption=1))
    assert first.final.quarantined == {"schema": 4}

    log = tmp_path / "server.jsonl"
    with fault_server(log=log) as url:  # the endpoint came back, on another port
        proc = subprocess.run(
            [
                sys.executable,
                "-m",
                "reasonaqa",
                "retry-failed",
                str(out),
                "--base-url",
                url,
                "--no-progress",
            ],
            capture_output=True,
            text=True,
            timeout=300,
        )
    assert proc.returncode == 0, proc.stderr
    assert "retrying 4 quarantined items" in proc.stdout
    rows = pd.read_parquet(out)
    assert len(rows) == 4 and rows["record_id"].is_unique
    assert not any(RunPaths(out).quarantine.glob("*.parquet"))
    generation = [line for line in _log(log) if line.get("attempt") == 1]
    assert len({line["seed"] for line in generation}) >= 4
