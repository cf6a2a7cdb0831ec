"""Checks before anything is written: every template a run needs renders on its first clip."""

from __future__ import annotations

from reasonaqa.config import GenerateConfig
from reasonaqa.engine.requests import render_context
from reasonaqa.engine.work import template_id_for
from reasonaqa.errors import InputError
from reasonaqa.prompts.store import TemplateStore
from reasonaqa.schemas import FOCUS_AREAS
from reasonaqa.sources.manifests import read_manifest


def template_ids(config: GenerateConfig) -> list[str]:
    """Every template a run with these settings renders."""
    ids = [template_id_for(task, config.variant) for task in config.tasks]
    if config.grounding_enabled:
        ids += [f"check_grounding_{task}" for task in config.tasks]
    if "mcq" in config.tasks and config.audio_votes > 0:
        ids.append("check_audio_dependence")
    return ids


def checked_templates(config: GenerateConfig) -> TemplateStore:
    """Load and render every template on the first clip, asking for one question and for
    ``per_request`` (a caption's last request may ask for fewer): fail before writing anything."""
    clip = next(iter(read_manifest(config.manifest)), None)
    if clip is None:
        raise InputError("manifest has no clips", file=config.manifest)
    store = TemplateStore(config.prompts_dir)
    for count in sorted({1, config.per_request}):
        context = render_context(clip, 0, FOCUS_AREAS[:count])
        context |= {"question": "q", "options": ["a", "b", "c", "d"], "answer": "a"}
        for template_id in template_ids(config):
            store.get(template_id).render(**context)
    return store
