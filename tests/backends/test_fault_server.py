"""The fault server over real HTTP on 127.0.0.1, and the llama.cpp server launcher."""

from __future__ import annotations

import asyncio
import base64
import hashlib
import json
import random
import time
from collections import Counter
from pathlib import Path
from typing import Any, Literal

import aiohttp
import pytest
from pydantic import BaseModel, Field, ValidationError

from reasonaqa.schemas import (
    FOCUS_AREAS,
    ChoiceVerdict,
    DetailItem,
    McqItem,
    SupportVerdict,
    llm_json_schema,
)
from reasonaqa.testing.fake_content import Context, Picker, compile_schema, options_in
from reasonaqa.testing.fault_server import (
    FAULT_KINDS,
    FaultPlan,
    FaultServer,
    messages_hash,
    read_log,
    serving,
    uniform_rates,
)
from reasonaqa.testing.servers import fault_server, llama_server, llama_unavailable

# Far apart, so a loaded machine's slow answer is never taken for a hang.
HANG_S = 6.0
CLIENT_TIMEOUT_S = 4.0


def chat_request(
    contract: type[BaseModel],
    index: int,
    user: str | None = None,
    style: Literal["json_schema", "json_object"] = "json_schema",
    n: int = 1,
) -> dict[str, Any]:
    focus = FOCUS_AREAS[index % len(FOCUS_AREAS)]
    user = user or (
        f"Descriptions of the clip:\n- A dog barks twice, take {index}\n- Birds sing nearby\n"
        f'Return JSON with keys "question", "options", "answer" and "focus" ("{focus}").'
    )
    schema = llm_json_schema(contract)
    response_format: dict[str, Any] = (
        {"type": "json_schema", "json_schema": {"name": contract.__name__, "schema": schema}}
        if style == "json_schema"
        else {"type": "json_object", "schema": schema}
    )
    return {
        "model": "test",
        "messages": [
            {"role": "system", "content": "You write audio QA."},
            {"role": "user", "content": user},
        ],
        "response_format": response_format,
        "max_tokens": 512,
        "seed": index,
        "n": n,
    }


async def post(session: aiohttp.ClientSession, url: str, body: dict[str, Any]) -> dict[str, Any]:
    async with session.post(f"{url}/chat/completions", json=body) as response:
        assert response.status == 200, await response.text()
        return await response.json()


def contents(completion: dict[str, Any]) -> list[str]:
    return [choice["message"]["content"] for choice in completion["choices"]]


async def post_all(url: str, bodies: list[dict[str, Any]]) -> list[dict[str, Any]]:
    async with aiohttp.ClientSession() as session:
        return list(await asyncio.gather(*(post(session, url, body) for body in bodies)))


# --- answers ---------------------------------------------------------------------------------


def test_answers_validate_against_the_llm_contracts() -> None:
    mcq = [chat_request(McqItem, i) for i in range(30)]
    detail = [chat_request(DetailItem, i, style="json_object") for i in range(30)]
    with fault_server() as url:
        completions = asyncio.run(post_all(url, mcq + detail))
    questions = set()
    for body, completion in zip(mcq, completions[:30], strict=True):
        item = McqItem.model_validate_json(contents(completion)[0])
        assert len(set(item.options)) == 4
        assert item.answer in item.options
        assert f'("{item.focus}")' in body["messages"][1]["content"]
        assert completion["seed"] == body["seed"]
        assert completion["choices"][0]["finish_reason"] == "stop"
        questions.add(item.question)
    assert len(questions) > 25, "content varies with the request"
    for completion in completions[30:]:
        DetailItem.model_validate_json(contents(completion)[0])


def test_n_choices_and_determinism() -> None:
    body = chat_request(McqItem, 7, n=3)
    with fault_server() as url:
        first, second = asyncio.run(post_all(url, [body, body]))
    assert len(first["choices"]) == 3
    assert [c["index"] for c in first["choices"]] == [0, 1, 2]
    assert contents(first) == contents(second)
    assert len(set(contents(first))) == 3


def test_verdicts_agree_with_the_generated_mcq() -> None:
    with fault_server() as url:
        (mcq_completion,) = asyncio.run(post_all(url, [chat_request(McqItem, 3)]))
        mcq = McqItem.model_validate_json(contents(mcq_completion)[0])
        shuffled = random.Random(1).sample(mcq.options, 4)
        labelled = [f"{letter}) {option}" for letter, option in zip("abcd", shuffled, strict=True)]
        listed, inline = "\n".join(labelled), " ".join(labelled)
        bodies = [
            chat_request(ChoiceVerdict, 1, user=f"{mcq.question}\n{listed}"),
            chat_request(ChoiceVerdict, 2, user=f"{mcq.question} {inline}"),
            chat_request(SupportVerdict, 3, user="Is the answer supported?"),
        ]
        by_lines, by_inline, support = asyncio.run(post_all(url, bodies))
    assert ChoiceVerdict.model_validate_json(contents(by_lines)[0]).answer == mcq.answer
    assert ChoiceVerdict.model_validate_json(contents(by_inline)[0]).answer == mcq.answer
    assert SupportVerdict.model_validate_json(contents(support)[0]).supported is True


def test_content_is_generic_over_json_schemas() -> None:
    class Part(BaseModel):
        label: Literal["x", "y", "z"]
        weight: float = Field(ge=0.5, le=0.75)

    class Nested(BaseModel):
        parts: list[Part] = Field(min_length=2, max_length=5)
        tags: list[str] = Field(min_length=3, max_length=3)
        count: int = Field(gt=2, lt=5)
        flag: bool
        grounded: bool
        note: str | None
        reason: str = Field(min_length=80, max_length=90)

    fill = compile_schema(Nested.model_json_schema())
    assert "$defs" in Nested.model_json_schema()
    for seed in range(50):
        value = Nested.model_validate(fill(Picker(seed), Context("")))
        assert value.grounded is True


def test_generated_items_pass_the_quality_checks() -> None:
    """Engine tests against this server then measure the engine, not quality rejections."""
    from reasonaqa.quality.checks import check_detail, check_mcq

    mcq = compile_schema(llm_json_schema(McqItem))
    detail = compile_schema(llm_json_schema(DetailItem))
    captions = ["A dog barks while cars pass by"]
    for seed in range(500):
        item = McqItem.model_validate(mcq(Picker(seed), Context("")))
        assert check_mcq(item, captions) == [], item
        answer = DetailItem.model_validate(detail(Picker(seed), Context("")))
        assert check_detail(answer, captions) == [], answer


def test_options_are_read_from_prompts() -> None:
    assert options_in("Q?\na) one\nb) two\nc) three\nd) four") == ("one", "two", "three", "four")
    assert options_in("Q? a) one b) two c) three d) four") == ("one", "two", "three", "four")
    assert options_in('{"options": ["one", "two"]}') == ("one", "two")
    assert options_in("- a caption\n- another caption") == ()


# --- faults ----------------------------------------------------------------------------------


async def observe(session: aiohttp.ClientSession, url: str, body: bytes) -> str:
    """What the client sees, named like the fault kind that causes it ("ok" for none)."""
    try:
        async with session.post(
            f"{url}/chat/completions",
            data=body,
            headers={"Content-Type": "application/json"},
            timeout=aiohttp.ClientTimeout(total=CLIENT_TIMEOUT_S),
        ) as response:
            raw = await response.read()
            if response.status == 429:
                assert response.headers["Retry-After"] == "1"
                return "rate_limit"
            statuses = {500: "server_error", 503: "unavailable"}
            if response.status in statuses:
                return statuses[response.status]
            assert response.status == 200
            try:
                choice = json.loads(raw)["choices"][0]
            except ValueError:
                return "truncated"
            if choice["finish_reason"] == "length":
                return "length"
            try:
                McqItem.model_validate_json(choice["message"]["content"])
            except ValidationError as err:
                return "not_json" if err.errors()[0]["type"] == "json_invalid" else "bad_schema"
            return "ok"
    except TimeoutError:
        return "hang"
    except aiohttp.ClientError:
        return "drop"


async def observe_all(url: str, bodies: list[bytes], concurrency: int = 64) -> list[str]:
    limit = asyncio.Semaphore(concurrency)

    async def one(session: aiohttp.ClientSession, body: bytes) -> str:
        async with limit:
            return await observe(session, url, body)

    connector = aiohttp.TCPConnector(limit=concurrency)
    async with aiohttp.ClientSession(connector=connector) as session:
        return list(await asyncio.gather(*(one(session, body) for body in bodies)))


def wait_for_lines(log: Path, count: int, timeout_s: float = HANG_S + 10) -> list[dict[str, Any]]:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        records = read_log(log) if log.exists() else []
        if len(records) >= count:
            return records
        time.sleep(0.05)
    raise AssertionError(f"the server logged {len(records)} of {count} requests")


def test_each_fault_kind_occurs_at_its_rate_and_is_logged(tmp_path: Path) -> None:
    total = 2000
    rates = uniform_rates(0.45)  # 5% for each of the nine kinds
    log = tmp_path / "server.jsonl"
    bodies = [json.dumps(chat_request(McqItem, i)).encode() for i in range(total)]
    with fault_server(rates=rates, log=log, seed=5, hang_s=HANG_S) as url:
        seen = asyncio.run(observe_all(url, bodies))
        records = wait_for_lines(log, total)
    counts = Counter(seen)
    assert set(counts) == {*FAULT_KINDS, "ok"}
    for kind in FAULT_KINDS:
        assert abs(counts[kind] - total * rates[kind]) < 40, (kind, counts)
    assert abs(counts["ok"] - total * 0.55) < 80

    assert len(records) == total
    logged = {record["body"]: record for record in records}
    for body, observed in zip(bodies, seen, strict=True):
        record = logged[hashlib.blake2b(body, digest_size=8).hexdigest()]
        assert (record["fault"] or "ok") == observed
        assert record["attempt"] == 1
        assert record["messages"] == messages_hash(json.loads(body)["messages"])
        assert record["status"] in (0, 200, 429, 500, 503)


def test_a_retried_request_eventually_succeeds(tmp_path: Path) -> None:
    log = tmp_path / "server.jsonl"
    body = json.dumps(chat_request(McqItem, 1)).encode()
    with fault_server(rates={"server_error": 0.5, "rate_limit": 0.3}, log=log, seed=2) as url:
        seen = asyncio.run(observe_all(url, [body] * 40, concurrency=1))
        records = wait_for_lines(log, 40)
    assert "ok" in seen
    assert len(set(seen)) == 3
    assert [r["attempt"] for r in records] == list(range(1, 41))
    with fault_server(rates={"server_error": 0.5, "rate_limit": 0.3}, seed=2) as url:
        assert asyncio.run(observe_all(url, [body] * 40, concurrency=1)) == seen


def test_instant_mode_answers_without_faults() -> None:
    with fault_server(mode="instant") as url:
        completions = asyncio.run(post_all(url, [chat_request(McqItem, i) for i in range(20)]))
    for completion in completions:
        McqItem.model_validate_json(contents(completion)[0])


def test_bad_requests_get_400_and_models_are_listed() -> None:
    async def probe(url: str) -> tuple[int, int, dict[str, Any]]:
        async with aiohttp.ClientSession() as session:
            async with session.post(f"{url}/chat/completions", data=b"{not json") as bad:
                bad_status = bad.status
            async with session.post(f"{url}/chat/completions", json={"model": "m"}) as missing:
                missing_status = missing.status
            async with session.get(f"{url}/models") as models:
                return bad_status, missing_status, await models.json()

    with fault_server() as url:
        bad_status, missing_status, models = asyncio.run(probe(url))
    assert bad_status == missing_status == 400
    assert models["data"][0]["id"]


# --- llama.cpp -------------------------------------------------------------------------------


@pytest.mark.slow
def test_llama_server_returns_a_schema_valid_mcq() -> None:
    if why := llama_unavailable():
        pytest.skip(why)
    body = chat_request(McqItem, 0, style="json_object")
    body.update(repeat_penalty=1.0, temperature=0.2, max_tokens=400)
    with llama_server() as url:
        (completion,) = asyncio.run(post_all(url, [body]))
    item = McqItem.model_validate_json(contents(completion)[0])
    assert len(item.options) == 4


# --- replies no real server sends, and refusals --------------------------------------------


async def raw_answers(
    url: str, bodies: list[dict[str, Any]], headers: dict[str, str] | None = None
) -> list[tuple[int, dict[str, str], bytes]]:
    """Status, headers and body of each answer, read in full."""
    async with aiohttp.ClientSession(headers=headers) as session:
        answers = []
        for body in bodies:
            async with session.post(f"{url}/chat/completions", json=body) as response:
                answers.append((response.status, dict(response.headers), await response.read()))
        return answers


def answers_for(
    kind: str, count: int = 1, **server: Any
) -> list[tuple[int, dict[str, str], bytes]]:
    async def scenario() -> list[tuple[int, dict[str, str], bytes]]:
        fault_server_ = FaultServer(FaultPlan(rates={kind: 1.0}), **server)
        async with serving(fault_server_) as url:
            return await raw_answers(url, [chat_request(McqItem, i) for i in range(count)])

    return asyncio.run(scenario())


def test_malformed_replies_break_exactly_one_part_of_the_contract() -> None:
    def first(kind: str) -> dict[str, Any]:
        ((status, _, body),) = answers_for(kind)
        assert status == 200
        return json.loads(body)

    assert isinstance(first("number_content")["choices"][0]["message"]["content"], int)
    McqItem.model_validate(first("object_content")["choices"][0]["message"]["content"])
    no_choices = first("no_choices")
    assert "choices" not in no_choices and no_choices["usage"]["prompt_tokens"] > 0
    bad_usage = first("bad_usage")
    assert bad_usage["usage"] == {"prompt_tokens": "n/a", "completion_tokens": [1, 2]}
    McqItem.model_validate_json(bad_usage["choices"][0]["message"]["content"])


def test_a_huge_reply_is_streamed_without_a_length_and_is_valid_json() -> None:
    ((status, headers, body),) = answers_for("huge", huge_bytes=2 * 1024**2 + 5)
    assert status == 200
    assert "Content-Length" not in headers and headers["Transfer-Encoding"] == "chunked"
    content = json.loads(body)["choices"][0]["message"]["content"]
    assert len(content) == 2 * 1024**2 + 5


def test_the_server_survives_a_client_that_hangs_up_on_a_huge_reply() -> None:
    async def scenario() -> tuple[int, dict[str, Any]]:
        server = FaultServer(FaultPlan(rates={"huge": 0.5}))
        async with serving(server) as url, aiohttp.ClientSession() as session:
            statuses = []
            for index in range(8):
                body = chat_request(McqItem, index)
                async with session.post(f"{url}/chat/completions", json=body) as response:
                    statuses.append(response.status)
                    await response.content.read(64 * 1024)
                    response.close()  # hang up after 64 KiB, as a capped client does
            async with session.get(f"{url}/models") as models:
                return statuses.count(200), await models.json()

    ok, models = asyncio.run(scenario())
    assert ok == 8 and models["data"][0]["id"] == "fault-server"


@pytest.mark.parametrize(
    ("kind", "status", "code"),
    [
        ("unauthorized", 401, "invalid_api_key"),
        ("forbidden", 403, "forbidden"),
        ("model_not_found", 404, "model_not_found"),
    ],
)
def test_refusals_have_openai_error_bodies(kind: str, status: int, code: str) -> None:
    ((got, _, body),) = answers_for(kind)
    error = json.loads(body)["error"]
    assert got == status
    assert error["code"] == code and error["type"] == "invalid_request_error"
    assert error["message"]


def test_context_length_errors_come_in_three_dialects() -> None:
    answers = answers_for("context_length", count=12)
    assert {status for status, _, _ in answers} == {400}
    bodies = [json.loads(body) for _, _, body in answers]
    openai = [b for b in bodies if b.get("error", {}).get("code") == "context_length_exceeded"]
    vllm = [b for b in bodies if b.get("object") == "error"]
    llama = [b for b in bodies if b.get("error", {}).get("type") == "exceed_context_size_error"]
    assert openai and vllm and llama and len(openai) + len(vllm) + len(llama) == 12
    assert "maximum context length" in vllm[0]["message"]
    assert llama[0]["error"]["n_ctx"] == 4096
    assert answers_for("context_length", count=12) == answers  # deterministic


def test_new_kinds_mix_with_the_old_at_their_rates() -> None:
    bodies = [f"{i:016x}" for i in range(3000)]
    plan = FaultPlan(rates={"drop": 0.1, "huge": 0.1, "unauthorized": 0.1}, seed=3)
    picks = [plan.pick(body, 1) for body in bodies]
    counts = Counter(picks)
    for kind in ("drop", "huge", "unauthorized"):
        assert abs(counts[kind] - 300) < 60, counts
    only_drops = FaultPlan(rates={"drop": 0.1}, seed=3)
    assert [pick == "drop" for pick in picks] == [
        only_drops.pick(body, 1) == "drop" for body in bodies
    ], "the new kinds come last: the old kinds hit the same requests as before"
    with pytest.raises(ValueError, match="unknown fault kinds"):
        FaultPlan(rates={"teapot": 0.1})


def test_the_launcher_serves_a_keyed_server_without_a_model_list() -> None:
    body = json.dumps(chat_request(McqItem, 0)).encode()
    basic = "Basic " + base64.b64encode(b"user:sk-k").decode()

    async def status(url: str, path: str, authorization: str | None = None) -> int:
        headers = {"Authorization": authorization} if authorization else {}
        data = body if path == "chat/completions" else None
        method = "POST" if data else "GET"
        async with (
            aiohttp.ClientSession() as session,
            session.request(method, f"{url}/{path}", data=data, headers=headers) as response,
        ):
            return response.status

    async def probe(url: str) -> list[int]:
        return [
            await status(url, "models"),
            await status(url, "models", "Bearer sk-k"),
            await status(url, "chat/completions", basic),
            await status(url, "chat/completions", "Bearer sk-wrong"),
        ]

    with fault_server(api_key="sk-k", models_endpoint=False) as url:
        assert asyncio.run(probe(url)) == [401, 404, 200, 401]
