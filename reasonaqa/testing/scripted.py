"""A scripted backend for fast in-process engine tests: no server, replies chosen by a script.

A script maps each request (and how many calls came before it) to a reply: the text of a
completion, a ``Completion`` (to set ``finish_reason``), or a ``BackendError`` to raise, as a
transport failure would surface from a real backend. The helpers write valid replies.
"""

from __future__ import annotations

import json
from collections.abc import Callable

from reasonaqa.backends.base import Backend, BackendError, ChatRequest, Completion
from reasonaqa.schemas import ITEMS_KEY

Reply = str | Completion | BackendError
Script = Callable[[ChatRequest, int], Reply]

# Distinct enough that near-duplicate removal keeps every one of them within a clip.
QUESTIONS = (
    "Which animal can be heard making noise in this recording?",
    "What kind of place does this recording most likely come from?",
    "How would you describe the loudness of the main sound?",
    "What is happening at the very start of the clip?",
    "Which machine is running throughout the background of the audio?",
    "What mood does this soundscape create for a listener?",
    "Where is the person speaking most likely standing?",
    "Which weather condition fits what is heard here?",
    "How many separate knocks does the listener count?",
    "Does the pitch of the engine rise or fall over time?",
    "Which instrument plays the short melody near the end?",
    "Why does the crowd suddenly fall silent halfway through?",
)
OPTIONS = ("a barking dog", "a ringing telephone", "heavy rain falling", "a church organ")


def valid_mcq(index: int) -> str:
    """The ``index``-th valid MCQ reply; the first option is the answer."""
    question = QUESTIONS[index % len(QUESTIONS)]
    return json.dumps(
        {"question": question, "options": list(OPTIONS), "answer": OPTIONS[0], "focus": "sources"}
    )


def valid_detail(index: int) -> str:
    return json.dumps(
        {
            "question": QUESTIONS[index % len(QUESTIONS)],
            "answer": "A dog barks twice near the microphone while cars pass in the distance.",
            "focus": "sound_events",
        }
    )


def valid_reply(request: ChatRequest, index: int) -> str:
    """A valid reply for any request the engine sends, by the schema it asks for.

    A request for K items (``--per-request``) gets K items with distinct questions.
    """
    if request.schema_name == "choice":
        return json.dumps({"answer": OPTIONS[0]})
    if request.schema_name == "support":
        return json.dumps({"supported": True})
    one = valid_mcq if request.schema_name.startswith("McqItem") else valid_detail
    count = requested_items(request)
    if count is None:
        return one(index)
    return json.dumps({ITEMS_KEY: [json.loads(one(index * count + i)) for i in range(count)]})


def requested_items(request: ChatRequest) -> int | None:
    """How many items a generation request asks for in a list; None for a one-item request."""
    listed = request.schema.get("properties", {}).get(ITEMS_KEY)
    return int(listed["minItems"]) if listed else None


class ScriptedBackend(Backend):
    """The ``Backend`` protocol over a script; records every request it was sent."""

    name = "scripted"

    def __init__(self, script: Script = valid_reply, model: str = "scripted-model") -> None:
        self.script = script
        self.model = model
        self.requests: list[ChatRequest] = []

    async def complete(self, request: ChatRequest) -> Completion:
        reply = self.script(request, len(self.requests))
        self.requests.append(request)
        if isinstance(reply, BackendError):
            raise reply
        if isinstance(reply, Completion):
            return reply
        return Completion([reply] * request.n, ["stop"] * request.n, 10, 20)

    async def aclose(self) -> None:
        return None
