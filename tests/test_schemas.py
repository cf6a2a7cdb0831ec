import json

import pyarrow as pa
import pytest
from pydantic import ValidationError

from reasonaqa.schemas import QA_COLUMNS, DetailItem, McqItem, empty_row, llm_json_schema
from reasonaqa.storage.arrow import QA_SCHEMA
from reasonaqa.storage.shards import rows_to_table


def test_json_schema_is_derived_from_the_contract() -> None:
    schema = llm_json_schema(McqItem)
    assert schema["required"] == ["question", "options", "answer", "focus"]
    assert schema["properties"]["options"]["minItems"] == 4
    assert schema["properties"]["options"]["maxItems"] == 4
    assert schema["additionalProperties"] is False
    assert set(schema["properties"]["focus"]["enum"]) >= {"sound_events", "emotion"}


def test_mcq_contract_rejects_bad_shapes() -> None:
    good = {
        "question": "What barks?",
        "options": ["dog", "cat", "cow", "owl"],
        "answer": "dog",
        "focus": "sources",
    }
    assert McqItem.model_validate_json(json.dumps(good)).answer == "dog"
    for bad in (
        {**good, "options": ["dog", "cat", "cow"]},
        {**good, "focus": "colour"},
        {**good, "question": "   "},
        {**good, "extra": 1},
    ):
        with pytest.raises(ValidationError):
            McqItem.model_validate(bad)


def test_detail_contract() -> None:
    item = DetailItem(question=" What happens? ", answer="A dog barks twice.", focus="sound_events")
    assert item.question == "What happens?"


def test_arrow_schema_matches_the_row_model() -> None:
    assert QA_SCHEMA.names == list(QA_COLUMNS)
    assert QA_SCHEMA.field("options").type == pa.list_(pa.string())
    assert QA_SCHEMA.field("seed").type == pa.int64()
    table = rows_to_table(
        [
            empty_row(
                record_id="r1",
                origin="synthetic",
                source="S",
                dataset="clotho",
                split="test",
                clip_id="c",
                audio_path="c.wav",
                captions=["x"],
                task="mcq",
                question="q",
                answer="a",
                options=["a", "b", "c", "d"],
            )
        ]
    )
    assert table.num_rows == 1
    with pytest.raises(KeyError):
        empty_row(nope=1)
