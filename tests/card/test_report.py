"""Run statistics, the dataset card and its plots, through the API and ``reasonaqa stats``."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from reasonaqa.card.report import compute_stats, write_report
from reasonaqa.engine.counts import RunCounts
from reasonaqa.errors import InputError
from reasonaqa.storage.layout import RunPaths
from reasonaqa.testing.sample_run import REJECTED, write_sample_run

REPO = Path(__file__).resolve().parents[2]
PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


@pytest.fixture(scope="module")
def run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("runs") / "sample"
    write_sample_run(root, {"train": (1200, 300), "test": (200, 50)}, shard_rows=500)
    return root


def run_cli(*args: str | Path) -> subprocess.CompletedProcess[str]:
    # Importing the module registers the command whether or not the CLI lists it yet.
    code = "import reasonaqa.cli.stats; from reasonaqa.cli import main; main()"
    return subprocess.run(
        [sys.executable, "-c", code, "stats", *map(str, args)],
        capture_output=True,
        text=True,
        cwd=REPO,
        check=False,
    )


def test_counts(run: Path) -> None:
    stats = compute_stats(run)
    assert stats["rows"] == 1200 + 300 + 24 + 200 + 50 + 4
    assert stats["by_split"] == {"train": 1524, "test": 254}
    assert stats["by_task"] == {"mcq": 1400, "detail": 350, "caption": 28}
    assert stats["by_split_task"]["test"] == {"caption": 4, "detail": 50, "mcq": 200}
    assert stats["by_source"]["AudioCaps-MCQ"] == 1400
    assert stats["by_focus"]["(not set)"] == 28
    assert sum(stats["by_focus"].values()) == stats["rows"]
    assert stats["run"]["rejected"] == REJECTED
    assert stats["run"]["rejected_total"] == sum(REJECTED.values())
    assert stats["run"]["duplicates_removed"] == 11
    assert stats["run"]["shipped"] == stats["rows"]
    assert stats["model"] == "sample-model"
    assert len(stats["shards"]) == 5  # train: 1524 rows in shards of 500


def test_balance_and_checks(run: Path) -> None:
    stats = compute_stats(run)
    for split, n in [("train", 1200), ("test", 200)]:
        assert stats["answer_letters"][split] == {letter: n // 4 for letter in "abcd"}
    longest = stats["correct_is_longest"]
    assert 0 < longest["rate"] < 0.5
    assert longest["unmatched"] == 0
    assert stats["audio_contribution"] == {
        "weak": 280,
        "strong": 1120,
        "unchecked": 0,
        "weak_fraction": 0.2,
    }
    assert stats["grounded"] == {"yes": 1750, "no": 0, "unchecked": 0}
    assert stats["question_words"]["rows"] == stats["rows"]
    assert set(stats["answer_words"]) == {"mcq", "detail", "caption"}
    assert stats["answer_words"]["detail"]["p95"] > stats["answer_words"]["mcq"]["p95"]
    json.dumps(stats)  # plain data all the way down


def test_card_and_plots(run: Path) -> None:
    write_report(run)
    paths = RunPaths(run)
    card = paths.card.read_text(encoding="utf-8")
    front, body = card.split("---\n")[1], card.split("---\n", 2)[2]
    assert "- split: train\n    path: data/train-*.parquet" in front
    assert "size_categories:\n- 1K<n<10K" in front
    assert "| train | 1,200 | 300 | 24 | 1,524 |" in body
    assert "`refusal` | 41 |" in body and "ungrounded" in body
    assert "| test | 200 | 25.0% | 25.0% | 25.0% | 25.0% |" in body
    assert "**20.0%** of checked synthetic MCQs are weak" in body
    plots = sorted(paths.plots.glob("*.png"))
    assert [p.stem for p in plots] == [
        "answer_letters",
        "composition",
        "lengths",
        "rejections",
        "second_passes",
    ]
    for plot in plots:
        assert plot.read_bytes()[:8] == PNG_MAGIC
        assert f"]({plot.relative_to(paths.card.parent).as_posix()})" in body
    assert not list(paths.card.parent.glob(".*")) and not list(paths.plots.glob(".*"))


def test_cli_writes_the_card(run: Path) -> None:
    RunPaths(run).card.unlink(missing_ok=True)
    result = run_cli(run)
    assert result.returncode == 0, result.stderr
    assert "1,778 rows in 2 split(s): train 1,524, test 254" in result.stdout
    assert RunPaths(run).card.is_file()
    as_json = run_cli(run, "--json")
    assert json.loads(as_json.stdout)["rows"] == 1778


def test_bad_runs_are_one_line_errors(tmp_path: Path) -> None:
    missing = run_cli(tmp_path / "nope")
    assert missing.returncode == 2
    assert missing.stderr.strip().count("\n") == 0 and "does not exist" in missing.stderr

    no_manifest = tmp_path / "no_manifest"
    no_manifest.mkdir()
    with pytest.raises(InputError, match=r"run\.json is missing"):
        compute_stats(no_manifest)

    bad_counts = tmp_path / "bad_counts"
    write_sample_run(bad_counts, {"train": (8, 0)})
    RunPaths(bad_counts).run_manifest.write_text(
        json.dumps(
            {"counts": {"accepted_before_dedup": 8, "rejected": [], "duplicates_removed": 0}}
        )
    )
    result = run_cli(bad_counts)
    assert result.returncode == 2
    assert "run.json" in result.stderr and "'counts.rejected'" in result.stderr
    assert not RunPaths(bad_counts).card.exists()

    no_shards = tmp_path / "no_shards"
    no_shards.mkdir()
    RunPaths(no_shards).run_manifest.write_text(
        json.dumps(
            {"counts": {"accepted_before_dedup": 0, "rejected": {}, "duplicates_removed": 0}}
        )
    )
    with pytest.raises(InputError, match="no data/ folder"):
        compute_stats(no_shards)


def test_a_finished_run_with_no_accepted_row_gets_a_card(tmp_path: Path) -> None:
    """No shard at all: the card says why (the rejection reasons), and stats does not refuse."""
    empty = tmp_path / "empty"
    RunPaths(empty).data.mkdir(parents=True)
    counts = RunCounts(duplicates_removed=0, rejected={"refusal": 5}, quarantined={"length": 1})
    manifest = {"counts": counts.to_json(), "model": "m"}
    RunPaths(empty).run_manifest.write_text(json.dumps(manifest))
    result = run_cli(empty)
    assert result.returncode == 0, result.stderr
    assert "0 rows" in result.stdout
    card = RunPaths(empty).card.read_text(encoding="utf-8")
    assert "# empty" in card and "`refusal` | 5 |" in card
    assert "No synthetic multiple-choice rows." in card
