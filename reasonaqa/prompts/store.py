"""Jinja prompt templates: sandboxed, strict, identified by id and a hash of their source.

A template file holds the system message, a line ``---user---``, then the user message.
Template ids are file stems: ``mcq_expert`` is ``<prompts_dir>/mcq_expert.j2``.
"""

from __future__ import annotations

import hashlib
import math
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import Any

import jinja2
import jinja2.meta
from jinja2.sandbox import ImmutableSandboxedEnvironment

from reasonaqa.backends.base import Message
from reasonaqa.errors import InputError

USER_MARKER = "---user---"
# What template arithmetic may build: ``2 ** 2 ** 40`` or ``"a" * 10 ** 9`` would otherwise
# hang or exhaust memory before any prompt-size cap could see the result.
MAX_POWER_BITS = 4096
MAX_REPEAT_ITEMS = 1_000_000


@dataclass(frozen=True)
class Template:
    template_id: str
    path: Path
    source: str

    @cached_property
    def hash(self) -> str:
        return hashlib.sha256(self.source.encode("utf-8")).hexdigest()[:16]

    @cached_property
    def _compiled(self) -> tuple[_Part, _Part]:
        if USER_MARKER not in self.source:
            raise InputError(f"template has no line {USER_MARKER!r}", file=self.path)
        system, user = self.source.split(USER_MARKER, 1)
        env = _environment()
        try:
            return _Part(env, system.strip("\n")), _Part(env, user.strip("\n"))
        except jinja2.TemplateSyntaxError as err:
            raise InputError(
                f"template syntax error: {err.message}", file=self.path, row=err.lineno
            ) from err

    def render(self, **context: Any) -> tuple[Message, ...]:
        """Render to chat messages; a missing variable or unsafe access is an InputError."""
        system, user = self._compiled
        try:
            return (
                {"role": "system", "content": system.render(context)},
                {"role": "user", "content": user.render(context)},
            )
        except jinja2.UndefinedError as err:
            raise InputError(f"template error: {err.message}", file=self.path) from err
        except jinja2.exceptions.SecurityError as err:
            raise InputError(f"template tried an unsafe operation: {err}", file=self.path) from err
        except Exception as err:  # template code is the user's: whatever it raises is its error
            raise InputError(
                f"template failed while rendering: {type(err).__name__}: {err}", file=self.path
            ) from err


class _Part:
    """One message of a template. A part without variables (most system prompts) renders
    the same text for every item, so it is rendered once."""

    def __init__(self, env: jinja2.Environment, source: str) -> None:
        self.template = env.from_string(source)
        self.fixed = not jinja2.meta.find_undeclared_variables(env.parse(source))
        self._text: str | None = None
        # Jinja copies its globals out of a ChainMap on every render, which costs more than
        # rendering a prompt: flatten them once and pass them with the variables instead.
        self._globals = dict(self.template.globals)

    def render(self, context: dict[str, Any]) -> str:
        if not self.fixed:
            return self._render(context)
        if self._text is None:
            self._text = self._render({})
        return self._text

    def _render(self, context: dict[str, Any]) -> str:
        # What Template.render does, with the globals already flat (shared=True: as given).
        ctx = self.template.new_context({**self._globals, **context}, shared=True)
        return self.template.environment.concat(self.template.root_render_func(ctx)).strip()


class _Sandbox(ImmutableSandboxedEnvironment):
    """Jinja's immutable sandbox, with ``**`` and ``*`` bounded (see ``MAX_POWER_BITS``)."""

    intercepted_binops = frozenset({"**", "*"})

    def call_binop(
        self, context: jinja2.runtime.Context, operator: str, left: Any, right: Any
    ) -> Any:
        ok = _power_ok(left, right) if operator == "**" else _repeat_ok(left, right)
        if not ok:
            raise jinja2.exceptions.SecurityError(f"{operator} would build a value too large")
        return super().call_binop(context, operator, left, right)


def _power_ok(base: Any, exponent: Any) -> bool:
    if not (isinstance(base, int) and isinstance(exponent, int)) or abs(base) < 2 or exponent < 1:
        return True
    return exponent * math.log2(abs(base)) <= MAX_POWER_BITS


def _repeat_ok(left: Any, right: Any) -> bool:
    count, seq = (left, right) if isinstance(left, int) else (right, left)
    if not isinstance(count, int) or not isinstance(seq, str | list | tuple):
        return True
    return count * len(seq) <= MAX_REPEAT_ITEMS


def _environment() -> ImmutableSandboxedEnvironment:
    return _Sandbox(
        undefined=jinja2.StrictUndefined,
        autoescape=False,
        keep_trailing_newline=False,
        trim_blocks=True,
        lstrip_blocks=True,
    )


class TemplateStore:
    """Loads templates by id from a prompts folder (the bundled one or the user's ``--prompts``)."""

    def __init__(self, directory: Path) -> None:
        self.directory = Path(directory)
        if not self.directory.is_dir():
            raise InputError("prompts folder does not exist", file=self.directory)
        self._cache: dict[str, Template] = {}

    def get(self, template_id: str) -> Template:
        if template_id not in self._cache:
            path = self.directory / f"{template_id}.j2"
            if not path.is_file():
                raise InputError(f"no template {template_id!r} ({path.name})", file=self.directory)
            try:
                source = path.read_text(encoding="utf-8")
            except UnicodeDecodeError as err:
                raise InputError("template is not UTF-8", file=path) from err
            template = Template(template_id, path, source)
            template._compiled  # noqa: B018 - fail on syntax errors before any request is sent
            self._cache[template_id] = template
        return self._cache[template_id]
