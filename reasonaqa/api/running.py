"""``generate`` and ``agenerate``: a run from Python, with the settings the CLI takes.

Settings are ``GenerateConfig`` keywords, or the CLI's flat names (``temperature=0.2``,
``tasks="mcq"``, ``prompts=...``, ``timeout=...``), validated by ``GenerateConfig``; or pass
a ``GenerateConfig`` itself. ``generate`` blocks; in a thread that already runs an event
loop (Jupyter, an async app) it runs the engine on its own loop in a worker thread, since a
loop cannot be started inside another. ``agenerate`` is the coroutine for code that awaits.
"""

from __future__ import annotations

import asyncio
from concurrent.futures import ThreadPoolExecutor
from typing import TYPE_CHECKING, Any

from reasonaqa.config import GenerateConfig, config_from_settings
from reasonaqa.errors import InputError

if TYPE_CHECKING:
    from reasonaqa.backends.base import Backend
    from reasonaqa.engine.session import RunResult


def generate(
    config: GenerateConfig | None = None,
    *,
    client: Backend | None = None,
    ray: str | None = None,
    **settings: Any,
) -> RunResult:
    """Generate (or resume) the run that ``config`` or ``settings`` describe; blocks until
    it is finalized. ``client``, a ``Backend`` object, replaces the one the settings name
    (``backend="openai"`` and the rest); ``ray`` runs on a Ray cluster, as ``--ray`` does."""
    run_config = _config(config, settings)
    try:
        asyncio.get_running_loop()
    except RuntimeError:  # no loop in this thread: the engine starts its own here
        return _run(run_config, client, ray)
    with ThreadPoolExecutor(1, thread_name_prefix="reasonaqa-generate") as pool:
        return pool.submit(_run, run_config, client, ray).result()


async def agenerate(
    config: GenerateConfig | None = None,
    *,
    client: Backend | None = None,
    ray: str | None = None,
    **settings: Any,
) -> RunResult:
    """``generate`` for code that awaits: runs on the caller's event loop (on Ray: in a
    worker thread, since the Ray driver keeps its own loop)."""
    run_config = _config(config, settings)
    if ray is not None:
        return await asyncio.to_thread(_run, run_config, client, ray)
    _check_manifest(run_config)
    from reasonaqa.engine.generate import generate_async

    return await generate_async(run_config, client)


def _config(config: GenerateConfig | None, settings: dict[str, Any]) -> GenerateConfig:
    if config is not None and settings:
        raise TypeError("pass a GenerateConfig or settings, not both")
    if config is not None:
        return config
    return config_from_settings(settings)


def _check_manifest(config: GenerateConfig) -> None:
    if not config.manifest.is_file():
        raise InputError("manifest not found", file=config.manifest)


def _run(config: GenerateConfig, client: Backend | None, ray: str | None) -> RunResult:
    _check_manifest(config)
    if ray is None:
        from reasonaqa.engine.generate import generate as generate_run

        return generate_run(config, client)
    if client is not None:
        raise TypeError("a Ray run builds its backend on each worker: pass settings instead")
    from reasonaqa.engine.distributed import generate_on_ray

    return generate_on_ray(config, address=ray)
