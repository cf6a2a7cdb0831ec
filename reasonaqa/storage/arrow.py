"""The Arrow schemas of shards, derived from the pydantic rows in ``schemas`` (one source).

Kept apart from ``schemas`` so that importing the contracts does not import pyarrow: a run
reaches its first request without it, and finalize brings it in.
"""

from __future__ import annotations

import datetime as dt
import types
import typing
from typing import Literal

import pyarrow as pa
from pydantic import BaseModel

from reasonaqa.schemas import Clip, QARow


def _arrow_type(annotation: typing.Any) -> pa.DataType:
    origin = typing.get_origin(annotation)
    args = [a for a in typing.get_args(annotation) if a is not type(None)]
    if origin is typing.Annotated:
        return _arrow_type(args[0])
    if origin in (typing.Union, types.UnionType) and len(args) == 1:
        return _arrow_type(args[0])
    if origin is Literal:
        return pa.string()
    if origin is list:
        return pa.list_(_arrow_type(args[0]))
    simple: dict[typing.Any, pa.DataType] = {
        str: pa.string(),
        int: pa.int64(),
        float: pa.float64(),
        bool: pa.bool_(),
        dt.datetime: pa.timestamp("us", tz="UTC"),
    }
    if annotation in simple:
        return simple[annotation]
    raise TypeError(f"no Arrow type for {annotation!r}")


def arrow_schema(model: type[BaseModel]) -> pa.Schema:
    """The Arrow schema of a pydantic model, column for field, in declaration order."""
    fields = []
    for name, info in model.model_fields.items():
        nullable = not info.is_required() or type(None) in typing.get_args(info.annotation)
        fields.append(pa.field(name, _arrow_type(info.annotation), nullable=nullable))
    return pa.schema(fields)


QA_SCHEMA: pa.Schema = arrow_schema(QARow)
QA_SCHEMA: pa.Schema = arrow_schema(QARow)
# Rejected and quarantined rows keep every QA column plus why they were set aside: the reason
# code, the message behind it (the check's words, the validator's error, the server's reply)
# and, when an LLM judge decided, the judge's raw reply.
SET_ASIDE_COLUMNS: tuple[pa.Field, ...] = (
    pa.field("reason", pa.string(), nullable=False),
    pa.field("message", pa.string()),
    pa.field("judge_reply", pa.string()),
)
SET_ASIDE_SCHEMA: pa.Schema = pa.schema([*QA_SCHEMA, *SET_ASIDE_COLUMNS])
MANIFEST_SCHEMA: pa.Schema = arrow_schema(Clip)
