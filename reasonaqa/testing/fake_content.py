"""Plausible, deterministic JSON that satisfies a JSON schema: what the fault server answers.

A schema is compiled once into a tree of small fill functions (the server caches them by schema
hash), so filling one per request costs a few picks from a seeded RNG. Generic over objects,
strings, enums, arrays with min/maxItems, booleans, numbers, ``anyOf`` and ``$defs``/``$ref``
(non-recursive). Property names give content hints: ``question`` reads like a question,
``options`` are distinct sound descriptions, ``answer`` is one of the options when there are any
(beside it in the object, or listed as ``a) ... b) ...`` in the user message), booleans such as
``supported`` are true, and an enum takes the value the user message quotes, if exactly one.

Which option is correct depends only on the set of options (see ``correct_option``), so a
second-pass "pick the answer" request about a generated MCQ agrees with it, in any order.
"""

from __future__ import annotations

import hashlib
import json
import math
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import cached_property
from typing import Any, TypeVar

# Options are drawn from SOUNDS, all 18-23 characters long so no option stands out by length;
# questions name a place and a moment, never a sound, so they never give an option away.
SOUNDS: tuple[str, ...] = (
    "a dog barking loudly",
    "birds chirping softly",
    "rain on a metal roof",
    "a car engine idling",
    "a crowd talking loudly",
    "a door slamming shut",
    "footsteps on gravel",
    "water running fast",
    "wind through the trees",
    "a baby crying softly",
    "church bells ringing",
    "a train passing by",
    "thunder rumbling far",
    "a phone ringing twice",
    "music playing faintly",
    "a motorcycle revving",
    "waves on a pebble beach",
    "a clock ticking slowly",
    "keys jingling quickly",
    "a cat meowing softly",
    "an airplane overhead",
    "a siren wailing loudly",
    "glass breaking sharply",
    "an audience applauding",
    "a man speaking calmly",
    "a woman laughing aloud",
    "a hammer hitting metal",
    "frogs croaking at night",
    "a fire crackling softly",
    "leaves rustling gently",
)
WHEN: tuple[str, ...] = (
    "at the start",
    "near the end",
    "in the background",
    "in the foreground",
    "in the middle of the clip",
    "throughout the recording",
    "after a short pause",
    "between the louder moments",
)
SCENES: tuple[str, ...] = (
    "a busy street",
    "a quiet park",
    "a small kitchen",
    "a railway station",
    "a sandy beach",
    "a dense forest",
    "an open office",
    "a football stadium",
    "a country farm",
    "a harbour",
    "a school yard",
    "a parking garage",
)
QUESTIONS: tuple[str, ...] = (
    "Which sound is heard {when} in this recording from {scene}?",
    "What most likely produces the sound heard {when}, recorded near {scene}?",
    "Which sound stands out {when} in this clip from {scene}?",
    "What happens {when} in this recording made in {scene}?",
    "Which sound gets louder {when} in this clip from {scene}?",
    "What creates the calm or tense mood {when} in this scene at {scene}?",
    "Which sound is closest to the microphone {when} at {scene}?",
    "Which sound has the highest pitch {when} in this clip from {scene}?",
    "Which event most likely explains the noise {when} at {scene}?",
    "Which sound repeats several times {when} in this clip from {scene}?",
    "Which sound overlaps with the voices {when} at {scene}?",
    "Which sound would a listener notice first {when} at {scene}?",
)
TRUE_HINTS = frozenset({"supported", "grounded", "valid", "answerable", "correct", "consistent"})
OPTION_HINTS = frozenset({"options", "choices", "distractors", "alternatives"})
SENTENCE_HINTS = ("reason", "explanation", "rationale", "description", "caption", "detail")

_LINE_OPTION = re.compile(r"^[ \t]*\(?([a-dA-D])[).:][ \t]+(.+?)[ \t]*$", re.MULTILINE)
_INLINE_OPTION = re.compile(r"(?:^|\s)\(?([a-d])\)\s*(.+?)(?=\s+\(?[a-d]\)\s|\s*$)", re.MULTILINE)
_JSON_OPTIONS = re.compile(r'"options"\s*:\s*(\[[^\]]*\])')


_MASK = 2**64 - 1
T = TypeVar("T")


class Picker:
    """A tiny deterministic RNG (splitmix64): free to seed per request, unlike Picker."""

    __slots__ = ("state",)

    def __init__(self, seed: int) -> None:
        self.state = seed & _MASK

    def next(self) -> int:
        self.state = (self.state + 0x9E3779B97F4A7C15) & _MASK
        z = self.state
        z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & _MASK
        z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & _MASK
        return z ^ (z >> 31)

    def random(self) -> float:
        return self.next() / 2**64

    def uniform(self, low: float, high: float) -> float:
        return low + (high - low) * self.random()

    def randint(self, low: int, high: int) -> int:
        return low + self.next() % (high - low + 1)

    def choice(self, values: Sequence[T]) -> T:
        return values[self.next() % len(values)]

    def sample(self, values: Sequence[T], count: int) -> list[T]:
        pool = list(values)
        for i in range(count):
            j = i + self.next() % (len(pool) - i)
            pool[i], pool[j] = pool[j], pool[i]
        return pool[:count]


@dataclass(frozen=True)
class Context:
    """What a fill may read from the request besides the schema."""

    user_text: str

    @cached_property
    def options(self) -> tuple[str, ...]:
        """Options listed in the user message; parsed only when a fill asks (regexes cost)."""
        return options_in(self.user_text)


Fill = Callable[[Picker, Context], Any]


def stable_hash(text: str) -> int:
    """A 64-bit hash that is the same in every process (``hash()`` is salted per process)."""
    return int.from_bytes(hashlib.blake2b(text.encode("utf-8"), digest_size=8).digest(), "big")


def correct_option(options: Sequence[str]) -> str:
    """The option a generated MCQ marks correct and a verdict picks: same set, same answer."""
    ordered = sorted(options)
    return ordered[stable_hash("\n".join(ordered)) % len(ordered)]


def options_in(text: str) -> tuple[str, ...]:
    """Options listed in a prompt: a JSON ``"options": [...]``, ``a) x`` lines, or inline."""
    found = _JSON_OPTIONS.search(text)
    if found:
        try:
            values = json.loads(found.group(1))
        except ValueError:
            values = None
        if (
            isinstance(values, list)
            and len(values) >= 2
            and all(isinstance(v, str) for v in values)
        ):
            return tuple(values)
    for pattern in (_LINE_OPTION, _INLINE_OPTION):
        values = [m.group(2) for m in pattern.finditer(text)]
        if len(values) >= 2:
            return tuple(values)
    return ()


def compile_schema(schema: dict[str, Any]) -> Fill:
    """Compile a JSON schema into ``fill(picker, context)``, which returns a valid value."""
    return _Compiler(schema).node(schema, hint="")


def question(rng: Picker) -> str:
    return rng.choice(QUESTIONS).format(scene=rng.choice(SCENES), when=rng.choice(WHEN))


def sentence(rng: Picker) -> str:
    first, second = rng.sample(SOUNDS, 2)
    return (
        f"The recording starts with {first}, then {second} is heard {rng.choice(WHEN)}, "
        f"which suggests {rng.choice(SCENES)}."
    )


class _Compiler:
    def __init__(self, root: dict[str, Any]) -> None:
        self.root = root
        self.resolving: set[str] = set()

    def node(self, schema: dict[str, Any], hint: str) -> Fill:
        if "$ref" in schema:
            return self.ref(schema["$ref"], hint)
        if "const" in schema:
            value = schema["const"]
            return lambda rng, ctx: value
        if "enum" in schema:
            return _enum(list(schema["enum"]))
        for key in ("anyOf", "oneOf", "allOf"):
            if schema.get(key):
                return self.node(_first_not_null(schema[key]), hint)
        kind = schema.get("type")
        if isinstance(kind, list):
            kind = next((k for k in kind if k != "null"), "null")
        if kind is None and "properties" in schema:
            kind = "object"
        builders: dict[str | None, Callable[[dict[str, Any], str], Fill]] = {
            "object": self.object,
            "array": self.array,
            "string": _string,
            "integer": _integer,
            "number": _number,
            "boolean": _boolean,
            "null": lambda schema, hint: lambda rng, ctx: None,
        }
        return builders.get(kind, _string)(schema, hint)

    def ref(self, ref: str, hint: str) -> Fill:
        if not ref.startswith("#/"):
            raise ValueError(f"only local $ref is supported, got {ref!r}")
        if ref in self.resolving:
            raise ValueError(f"recursive $ref {ref!r} is not supported")
        target: Any = self.root
        for part in ref[2:].split("/"):
            target = target[part.replace("~1", "/").replace("~0", "~")]
        self.resolving.add(ref)
        try:
            return self.node(target, hint)
        finally:
            self.resolving.discard(ref)

    def object(self, schema: dict[str, Any], hint: str) -> Fill:
        fills = [(name, self.node(sub, name)) for name, sub in schema.get("properties", {}).items()]
        options_key = next((name for name, _ in fills if name.lower() in OPTION_HINTS), None)
        answer_key = "answer" if any(name == "answer" for name, _ in fills) else None
        paired = options_key is not None and answer_key is not None
        answer_fill = dict(fills).get("answer")

        def fill(rng: Picker, ctx: Context) -> dict[str, Any]:
            value = {
                name: None if paired and name == answer_key else sub(rng, ctx)
                for name, sub in fills
            }
            if paired:
                options = value[options_key]
                if options and all(isinstance(o, str) for o in options):
                    value[answer_key] = correct_option(options)
                else:
                    value[answer_key] = answer_fill(rng, ctx)
            return value

        return fill

    def array(self, schema: dict[str, Any], hint: str) -> Fill:
        items = schema.get("items", {})
        low = int(schema.get("minItems", 1))
        high = int(schema.get("maxItems", max(low, 3)))
        if items.get("type") == "string" and hint.lower() in OPTION_HINTS and high <= len(SOUNDS):
            return lambda rng, ctx: rng.sample(SOUNDS, rng.randint(low, high))
        item = self.node(items, hint)
        unique = bool(schema.get("uniqueItems"))

        def fill(rng: Picker, ctx: Context) -> list[Any]:
            count = rng.randint(low, high)
            if not unique:
                return [item(rng, ctx) for _ in range(count)]
            values: dict[str, Any] = {}
            for _ in range(10 * count):
                value = item(rng, ctx)
                values.setdefault(json.dumps(value, sort_keys=True), value)
                if len(values) == count:
                    break
            return list(values.values())

        return fill


def _first_not_null(choices: list[dict[str, Any]]) -> dict[str, Any]:
    return next((c for c in choices if c.get("type") != "null"), choices[0])


def _enum(values: list[Any]) -> Fill:
    quoted = [(f'"{v}"', v) for v in values if isinstance(v, str)]

    def fill(rng: Picker, ctx: Context) -> Any:
        named = [v for q, v in quoted if q in ctx.user_text]
        return named[0] if len(named) == 1 else rng.choice(values)

    return fill


def _string(schema: dict[str, Any], hint: str) -> Fill:
    name = hint.lower()
    text: Callable[[Picker, Context], str]
    if "question" in name or name == "hypothesis":
        text = lambda rng, ctx: question(rng)  # noqa: E731
    elif name in ("answer", "choice", "option", "selected"):
        text = lambda rng, ctx: correct_option(ctx.options) if ctx.options else sentence(rng)  # noqa: E731
    elif any(h in name for h in SENTENCE_HINTS):
        text = lambda rng, ctx: sentence(rng)  # noqa: E731
    else:
        text = lambda rng, ctx: rng.choice(SOUNDS)  # noqa: E731
    low, high = schema.get("minLength"), schema.get("maxLength")
    if low is None and high is None:
        return text

    def fill(rng: Picker, ctx: Context) -> str:
        value = text(rng, ctx)
        if low is not None and len(value) < low:
            value = value + "." * (low - len(value))
        return value[:high] if high is not None else value

    return fill


def _bounds(schema: dict[str, Any], step: float) -> tuple[float, float]:
    """Inclusive range from minimum/maximum or their exclusive forms; 0..10 when open."""
    low = schema.get("minimum")
    if low is None:
        low = schema["exclusiveMinimum"] + step if "exclusiveMinimum" in schema else 0
    high = schema.get("maximum")
    if high is None:
        high = schema["exclusiveMaximum"] - step if "exclusiveMaximum" in schema else low + 10
    return low, max(low, high)


def _integer(schema: dict[str, Any], hint: str) -> Fill:
    low, high = _bounds(schema, 1)
    return lambda rng, ctx: rng.randint(math.ceil(low), math.floor(high))


def _number(schema: dict[str, Any], hint: str) -> Fill:
    low, high = _bounds(schema, 1e-6)
    return lambda rng, ctx: rng.uniform(low, high)


def _boolean(schema: dict[str, Any], hint: str) -> Fill:
    if hint.lower() in TRUE_HINTS:
        return lambda rng, ctx: True
    return lambda rng, ctx: rng.random() < 0.5
