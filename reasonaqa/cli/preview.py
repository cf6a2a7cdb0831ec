"""``reasonaqa preview``: a few items through the real path, printed for reading.

Takes the ``generate`` options (``cli.options``) except those about the run folder; prints,
per item, its captions, the rendered prompt (cut to ``--prompt-chars``), every raw reply,
the parsed item, each check and pass verdict with its message, and the final status. The
exit status is 0 whatever the verdicts: a preview reports, it does not judge.
"""

from __future__ import annotations

import json
import textwrap
from typing import TYPE_CHECKING, Annotated, Any

import typer

from reasonaqa.cli.app import app
from reasonaqa.cli.generate import checked_config
from reasonaqa.cli.options import run_options
from reasonaqa.config import PREVIEW_ITEMS

if TYPE_CHECKING:
    from reasonaqa.engine.preview import CheckVerdicts, Exchange, PreviewItem

PROMPT_CHARS = 600  # of the rendered prompt, by default
RUN_FOLDER_OPTIONS = ("output", "limit", "shard_rows", "force_new", "progress", "ray")
RULE = "─" * 78


@app.command("preview")
@run_options(exclude=RUN_FOLDER_OPTIONS)
def preview_command(
    items: Annotated[
        int,
        typer.Option("--items", "-n", min=1, help="items to sample (across clips, splits, tasks)"),
    ] = PREVIEW_ITEMS,
    prompt_chars: Annotated[
        int, typer.Option(min=0, help="characters of each rendered prompt to show")
    ] = PROMPT_CHARS,
    **settings: Any,
) -> int:
    """Run a few sampled items through generation and the checks, and show everything."""
    from reasonaqa.engine.preview import preview  # the engine loads only when a preview runs

    config = checked_config(settings | {"output": ".", "progress": False})
    results = preview(config, items)
    for number, result in enumerate(results, 1):
        typer.echo(render_item(result, number, len(results), prompt_chars))
    statuses = [r.record.status for r in results]
    typer.echo(", ".join(f"{s} {statuses.count(s)}" for s in sorted(set(statuses))))
    return 0


def render_item(result: PreviewItem, number: int, total: int, prompt_chars: int) -> str:
    """One item's report: plain text, indented, with every verdict and its message."""
    item, record = result.item, result.record
    lines = [
        RULE,
        f"item {number}/{total}: {item.clip_key}  split {item.clip.split}  task {item.task}  "
        f"focus {item.focus}  caption {item.caption_index + 1}",
        "captions:",
        *(_indent(f"{i}. {c}") for i, c in enumerate(item.clip.captions, 1)),
    ]
    for step, verdict in (
        ("generation", lambda: _check_lines(item.task, result.checks)),
        ("grounding", lambda: [_grounding_line(record.row)]),
        ("audio votes", lambda: _vote_lines(record.row)),
    ):
        exchanges = [e for e in result.exchanges if e.step == step]
        for exchange in exchanges:
            lines += _exchange_lines(exchange, prompt_chars)
        if exchanges:
            lines += verdict()
    why = f" ({record.reason}): {record.message}" if record.reason else ""
    lines.append(f"status: {record.status.upper()}{why}")
    if record.judge_reply:
        lines.append(_indent(f"judge reply: {record.judge_reply}"))
    return "\n".join(lines)


def _exchange_lines(exchange: Exchange, prompt_chars: int) -> list[str]:
    prompt = exchange.request.messages[-1]["content"]
    shown = prompt[:prompt_chars] + (" [...]" if len(prompt) > prompt_chars else "")
    lines = [f"{exchange.step} prompt ({len(prompt):,} chars):", _indent(shown)]
    if exchange.error is not None:
        return [*lines, f"{exchange.step} failed: {exchange.error}"]
    for index, reply in enumerate(exchange.replies, 1):
        count = f" {index}/{len(exchange.replies)}" if len(exchange.replies) > 1 else ""
        lines += [f"{exchange.step} reply{count}:", _indent(reply)]
    return lines


def _check_lines(task: str, verdicts: CheckVerdicts | None) -> list[str]:
    from reasonaqa.quality.checks import REASONS

    if verdicts is None:
        return []
    if verdicts.parsed is None:
        return [f"parsed: not a valid {task} item: {verdicts.error}"]
    lines = ["parsed:", _indent(json.dumps(verdicts.parsed, indent=2, ensure_ascii=False))]
    lines.append(f"checks: {len(verdicts.failed)} of {len(REASONS)} failed")
    lines += [_indent(f"FAIL {code}: {REASONS[code]}") for code in verdicts.failed]
    passed = ", ".join(code for code in REASONS if code not in verdicts.failed)
    lines.append(
        textwrap.fill(passed, width=78, initial_indent="    pass: ", subsequent_indent="    ")
    )
    return lines


def _grounding_line(row: dict[str, Any]) -> str:
    return (
        "grounding verdict: "
        + {None: "none", True: "grounded", False: "NOT grounded"}[row.get("grounded")]
    )


def _vote_lines(row: dict[str, Any]) -> list[str]:
    if not row.get("audio_votes"):
        return ["audio dependence: no readable vote"]
    return [
        f"audio dependence: votes {row['audio_votes']} -> {row['audio_contribution']} "
        "(weak: answerable without listening)"
    ]


def _indent(text: str) -> str:
    return textwrap.indent(text, "    ")
