"""The viewer's HTML, rendered on the server so that the filters live in the URL.

Every filter is a query parameter of a plain GET form: a page can be bookmarked, shared,
and loaded by a headless browser or ``curl`` with no script running.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlencode

import jinja2

from reasonaqa.schemas import LETTERS
from reasonaqa.viewer.folder import Folder, summary_figures
from reasonaqa.viewer.query import DEFAULT_PAGE_SIZE, FILTER_COLUMNS, Facets, Filters, Page

_ENV = jinja2.Environment(
    loader=jinja2.FileSystemLoader(Path(__file__).parent),
    autoescape=True,
    undefined=jinja2.StrictUndefined,
    trim_blocks=True,
    lstrip_blocks=True,
)
MENU_LABELS: dict[str, str] = {
    "status": "status",
    "split": "split",
    "task": "task",
    "focus": "focus",
    "source": "source",
    "reason": "reason",
    "audio_contribution": "audio contribution",
}


@dataclass(frozen=True)
class Option:
    letter: str
    text: str
    correct: bool


def render_page(
    folder: Folder,
    facets: Facets,
    filters: Filters,
    page: Page,
    *,
    statuses: tuple[str, ...],
    audio: bool,
) -> str:
    """The whole page: summary, filter form, one page of items and the links around it."""
    menus = {"status": {s: None for s in statuses}} | {
        name: facets.values.get(name, {}) for name in FILTER_COLUMNS
    }
    return _ENV.get_template("page.html").render(
        folder=folder,
        figures=summary_figures(folder.summary),
        plots=[p.name for p in folder.plots],
        menus=menus,
        labels=MENU_LABELS,
        filters=filters,
        page=page,
        items=[_item(row, audio) for row in page.rows],
        first=page.offset + 1,
        last=page.offset + len(page.rows),
        prev_url=_page_url(filters, page, -1),
        next_url=_page_url(filters, page, +1),
    )


def render_error(message: str) -> str:
    return _ENV.get_template("error.html").render(message=message)


def _item(row: dict[str, Any], audio: bool) -> dict[str, Any]:
    """A row plus what the template should not have to work out: options, links to clips."""
    return {
        **row,
        "choices": _options(row),
        "audio_url": _audio_url(row.get("audio_path")) if audio else None,
        "audio_url_2": _audio_url(row.get("audio_path_2")) if audio else None,
    }


def _options(row: dict[str, Any]) -> list[Option]:
    """Options lettered a-d; the correct one by its letter, or by its text if no letter is set."""
    options = row.get("options") or []
    letter = (row.get("answer_letter") or "").strip().lower()
    answer = (row.get("answer") or "").strip()
    out = []
    for i, text in enumerate(options):
        mark = LETTERS[i] if i < len(LETTERS) else str(i + 1)
        correct = mark == letter if letter else text.strip() == answer
        out.append(Option(mark, text, correct))
    return out


def _audio_url(path: str | None) -> str | None:
    return f"/audio/{quote(path)}" if path else None


def _page_url(filters: Filters, page: Page, step: int) -> str | None:
    offset = page.offset + step * page.size
    if offset < 0 or offset >= page.total:
        return None
    pairs = [*filters.pairs(), ("page", str(offset // page.size + 1))]
    if page.size != DEFAULT_PAGE_SIZE:
        pairs.append(("size", str(page.size)))
    return "/?" + urlencode(pairs)
