"""Data contracts, the bottom layer: clips, what the LLM must return, and the QA row.

Everything else imports from here. The JSON schema sent to the LLM and the Arrow schema of
the shards are both derived from these models, so each shape is written once.
"""

from __future__ import annotations

import datetime as dt
import functools
import typing
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, create_model

Dataset = Literal["audiocaps", "clotho"]
Focus = Literal["sound_events", "sources", "scene", "signal", "semantics", "emotion"]
FOCUS_AREAS: tuple[str, ...] = typing.get_args(Focus)
Task = Literal["mcq", "detail", "caption", "aqa", "difference"]
Origin = Literal["synthetic", "existing"]
LETTERS = "abcd"

Text = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1)]


class Clip(BaseModel):
    """One audio clip of a manifest, with all of its human captions."""

    model_config = ConfigDict(extra="forbid")

    dataset: Dataset
    split: str
    clip_id: str
    audio_path: str
    captions: list[Text] = Field(min_length=1)
    source_rows: list[str] = Field(description="ids of the CSV rows this clip came from")
    start_time: float | None = Field(
        None, description="AudioCaps: seconds into the YouTube video (part of the clip's identity)"
    )


# --- What the LLM must return -------------------------------------------------------------


class McqItem(BaseModel):
    """A four-option multiple-choice question with exactly one correct option."""

    model_config = ConfigDict(extra="forbid")

    question: Text
    options: list[Text] = Field(min_length=4, max_length=4)
    answer: Text = Field(description="the correct option, copied exactly from options")
    focus: Focus


class DetailItem(BaseModel):
    """An open question with a detailed answer."""

    model_config = ConfigDict(extra="forbid")

    question: Text
    answer: Text
    focus: Focus


class ChoiceVerdict(BaseModel):
    """Second-pass answer to an MCQ: grounding and audio-dependence checks."""

    model_config = ConfigDict(extra="forbid")

    answer: Text = Field(description="the chosen option, copied exactly")


class SupportVerdict(BaseModel):
    """Second-pass judgement of whether captions support a detailed answer."""

    model_config = ConfigDict(extra="forbid")

    supported: bool


LLM_CONTRACTS: dict[str, type[BaseModel]] = {
    "mcq": McqItem,
    "detail": DetailItem,
    "choice": ChoiceVerdict,
    "support": SupportVerdict,
}


def llm_json_schema(model: type[BaseModel]) -> dict[str, typing.Any]:
    """The JSON schema sent to the LLM, derived from the pydantic contract."""
    return model.model_json_schema()


# Derived once: requests share these objects (the request key digests each schema once).
LLM_SCHEMAS: dict[str, dict[str, typing.Any]] = {
    name: llm_json_schema(model) for name, model in LLM_CONTRACTS.items()
}


ITEMS_KEY = "items"


@functools.lru_cache(maxsize=64)
def batch_contract(task: str, count: int) -> type[BaseModel]:
    """``{"items": [item, ...]}`` with exactly ``count`` items of the task's contract: what
    one request asking for ``count`` questions must return (``--per-request``)."""
    item = LLM_CONTRACTS[task]
    return create_model(
        f"{item.__name__}List",
        __config__=ConfigDict(extra="forbid"),
        **{ITEMS_KEY: (list[item], Field(min_length=count, max_length=count))},  # type: ignore[valid-type]
    )


@functools.lru_cache(maxsize=64)
def batch_json_schema(task: str, count: int) -> dict[str, typing.Any]:
    """The JSON schema of ``batch_contract``; one shared object per (task, count), as requests
    digest their schema once per object."""
    return llm_json_schema(batch_contract(task, count))


# --- The QA row: one line of a shard ------------------------------------------------------


class QARow(BaseModel):
    """One question-answer row, synthetic or imported; the columns of every shard."""

    model_config = ConfigDict(extra="forbid")

    record_id: str
    origin: Origin
    source: str = Field(description="subset name, e.g. AudioCaps-MCQ, Clotho-Detail, CLE, ACD-1")
    dataset: Dataset
    split: str
    clip_id: str
    audio_path: str
    captions: list[str]
    task: Task
    question: str
    answer: str = Field(description="for MCQ the option text, never the letter")
    options: list[str] = Field(default_factory=list)
    answer_letter: str | None = None
    focus: str | None = None
    clip_id_2: str | None = None
    audio_path_2: str | None = None
    captions_2: list[str] = Field(default_factory=list)
    caption_index: int | None = None
    sample_index: int | None = None
    agreement: float | None = None
    raw: str | None = None
    model: str | None = None
    template_id: str | None = None
    template_hash: str | None = None
    seed: int | None = None
    audio_contribution: Literal["weak", "strong"] | None = None
    audio_votes: list[str] = Field(default_factory=list)
    grounded: bool | None = None
    created_at: dt.datetime | None = None


QA_COLUMNS: tuple[str, ...] = tuple(QARow.model_fields)


_EMPTY_ROW: dict[str, typing.Any] = dict.fromkeys(QA_COLUMNS)
_LIST_COLUMNS = ("options", "captions_2", "audio_votes")


def empty_row(**values: typing.Any) -> dict[str, typing.Any]:
    """A plain dict with every QA column, defaults filled in: the fast path for writers."""
    if not values.keys() <= _EMPTY_ROW.keys():
        raise KeyError(f"unknown QA columns: {sorted(values.keys() - _EMPTY_ROW.keys())}")
    row = _EMPTY_ROW.copy()
    for name in _LIST_COLUMNS:
        row[name] = []
    row.update(values)
    return row


# Why an item was quarantined (no valid item or verdict could be had), with what each means.
QuarantineReason = Literal[
    "transport", "timeout", "length", "schema", "semantic", "judge_unreadable"
]
QUARANTINE_REASONS: dict[QuarantineReason, str] = {
    "transport": "the request failed for good after retries (connection, HTTP error)",
    "timeout": "no answer within the request timeout, after retries",
    "length": "the reply was cut off twice, the second time with twice the tokens",
    "schema": "the reply was not valid JSON of the contract, twice (once with the error fed back)",
    "semantic": "the reply broke the contract's rules (four distinct options, the answer one of "
    "them), twice",
    "judge_unreadable": "a grounding or audio-dependence reply was not a verdict, twice",
}
