"""False-reject rate of the deterministic checks on MMAU test-mini's sound questions.

Run: .venv/bin/python bench/mmau_false_rejects.py PATH/mmau-test-mini.json [--show]

MMAU's questions are written by people and taken as good: every rejection counts as a false
one, per reason. The file is not part of this project (get it from the MMAU release); it
is read, never copied. MMAU has no captions, so ``copies_caption`` cannot fire; its MCQs
are checked exactly as generated ones are.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections import Counter
from pathlib import Path
from typing import Any

from reasonaqa.errors import InputError
from reasonaqa.quality.checks import REASONS
from reasonaqa.testing.labeled import GOOD, LabeledItem


def sound_items(path: Path) -> list[LabeledItem]:
    """MMAU's rows of task "sound", as good MCQs; bad input names file, row (from 1), field."""
    try:
        rows = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError) as err:
        raise InputError(f"cannot read MMAU: {err}", file=path) from None
    except json.JSONDecodeError as err:
        raise InputError(f"not JSON: {err.msg} (line {err.lineno})", file=path) from None
    if not isinstance(rows, list):
        raise InputError("expected a JSON list of questions", file=path)
    return [_item(path, i, row) for i, row in enumerate(rows, 1) if _is_sound(row)]


def _is_sound(row: Any) -> bool:
    return isinstance(row, dict) and row.get("task") == "sound"


def _item(path: Path, index: int, row: dict[str, Any]) -> LabeledItem:
    for name in ("id", "question", "answer"):
        if not isinstance(row.get(name), str):
            raise InputError("missing or not a string", file=path, row=index, field=name)
    choices = row.get("choices")
    if not isinstance(choices, list) or not all(isinstance(c, str) for c in choices):
        raise InputError("missing or not a list of strings", file=path, row=index, field="choices")
    return LabeledItem(
        id=row["id"],
        label=GOOD,
        task="mcq",
        question=row["question"],
        answer=row["answer"],
        captions=(),
        options=tuple(choices),
    )


def report(items: list[LabeledItem], show: bool) -> None:
    per_reason: Counter[str] = Counter()
    rejected = 0
    for item in items:
        codes = item.codes()
        rejected += bool(codes)
        per_reason.update(codes)
        if codes and show:
            print(f"  {', '.join(codes)}: {item.question} | {' / '.join(item.options)}")
    n = len(items)
    print(f"MMAU test-mini sound questions: {n}; rejected {rejected} ({rejected / n:.1%})")
    for code in REASONS:
        if per_reason[code]:
            print(f"  {code:24s} {per_reason[code]:4d}  {per_reason[code] / n:6.1%}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("path", type=Path, help="MMAU's mmau-test-mini.json")
    parser.add_argument("--show", action="store_true", help="print every rejected question")
    args = parser.parse_args()
    try:
        items = sound_items(args.path)
    except InputError as err:
        print(f"error: {err}", file=sys.stderr)
        sys.exit(2)
    if not items:
        print(f"error: {args.path}: no questions of task 'sound'", file=sys.stderr)
        sys.exit(2)
    report(items, args.show)


if __name__ == "__main__":
    main()
