"""``reasonaqa check``: audit any QA file with the checks (and, with ``--llm``, the passes)
that ``generate`` runs."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from reasonaqa.cli.app import app
from reasonaqa.cli.options import LLM_OPTIONS, first_error, run_options
from reasonaqa.config import LLMSettings, config_from_settings
from reasonaqa.errors import InputError

if TYPE_CHECKING:
    from reasonaqa.engine.audit import AuditSummary

OUTPUT_SUFFIX = ".checked.jsonl"


@app.command("check")
@run_options(only=LLM_OPTIONS)
def check_command(
    input_path: Annotated[
        Path,
        typer.Argument(
            metavar="INPUT",
            help="JSONL, Parquet (file or folder, e.g. a run), Mellow JSON or MMAU JSON",
        ),
    ],
    output: Annotated[
        Path | None,
        typer.Option("--output", "-o", help="JSONL to write [default: INPUT.checked.jsonl]"),
    ] = None,
    llm: Annotated[
        bool, typer.Option(help="also run the grounding and audio-dependence LLM passes")
    ] = False,
    **settings: Any,
) -> int:
    """Check every row of a QA file; write it back with the reasons that fire (exit 0)."""
    llm_settings = None
    if llm:
        try:
            llm_settings = config_from_settings(settings, LLMSettings)
        except ValueError as err:
            raise InputError(f"bad option: {first_error(err)}") from err
    from reasonaqa.dataset.qa_files import read_qa_file
    from reasonaqa.engine.audit import audit

    target = output or default_output(input_path)
    summary = audit(read_qa_file(input_path), target, llm_settings)
    _report(summary, target)
    return 0


def default_output(input_path: Path) -> Path:
    """``data.checked.jsonl`` beside ``data.jsonl``; ``run.checked.jsonl`` beside a folder."""
    name = input_path.name if input_path.is_dir() else input_path.stem
    return input_path.with_name(name + OUTPUT_SUFFIX)


def _report(summary: AuditSummary, target: Path) -> None:
    typer.echo(
        f"checked {summary.rows} rows: {summary.passed} pass, {summary.flagged} with reasons, "
        f"{summary.skipped} skipped (not LLM-written questions)"
    )
    ordered = sorted(summary.by_reason.items(), key=lambda kv: (-kv[1], kv[0]))
    for reason, count in ordered:
        typer.echo(f"  {reason:<24} {count:>8}  {count / max(summary.rows, 1):6.1%}")
    if summary.counters is not None:
        counters = summary.counters
        typer.echo(
            f"LLM passes: {counters.calls} requests, {counters.cache_hits} answered from the cache"
        )
        if summary.pass_errors:
            errors = ", ".join(f"{k} {v}" for k, v in sorted(summary.pass_errors.items()))
            typer.echo(f"  no verdict (rerun to retry the failed requests): {errors}")
    typer.echo(f"wrote {target}")
