"""The vllm backend's throughput against ``vllm.LLM.generate`` called directly, same run.

    make bench-vllm
    .venv-vllm/bin/python bench/vllm_throughput.py --model .cache/smollm2-135m-instruct-hf \
        [--requests 256] [--max-tokens 128] [--rounds 2] [--dtype bfloat16]

Builds engine-shaped MCQ requests (the expert template on the sample manifest, one seed per
item) and runs them on one engine two ways, alternating which goes first each round:

- direct: one ``LLM.generate`` call on the whole list, prompts already rendered to token ids
  and sampling params already built (the cost a hand-written loop would have, at best);
- ours: every request awaited through ``VllmBackend.complete`` concurrently, as the engine
  does (rendering, micro-batching, prefix sort and futures included in the time).

The prefix cache is reset before every timed run. Prints tokens/s and requests/s of each and
ours over direct. Target (issue 7): ratio >= 0.95.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
import time
from dataclasses import dataclass
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
if str(REPO_ROOT) not in sys.path:
    sys.path.insert(0, str(REPO_ROOT))
os.environ.setdefault("VLLM_CACHE_ROOT", str(REPO_ROOT / ".cache" / "vllm"))
os.environ.setdefault("VLLM_CPU_KVCACHE_SPACE", "2")

from reasonaqa.backends.base import ChatRequest  # noqa: E402
from reasonaqa.backends.vllm import VllmBackend  # noqa: E402
from reasonaqa.config import DEFAULT_PROMPTS_DIR, GenerateConfig, SamplingConfig  # noqa: E402
from reasonaqa.engine.requests import generation_request, group_context  # noqa: E402
from reasonaqa.engine.work import iter_groups  # noqa: E402
from reasonaqa.prompts.store import TemplateStore  # noqa: E402
from reasonaqa.sources.manifests import read_manifest  # noqa: E402

SAMPLE_MANIFEST = REPO_ROOT / "manifests" / "sample.jsonl"


@dataclass
class Timing:
    seconds: float
    requests: int
    tokens: int

    @property
    def tokens_per_s(self) -> float:
        return self.tokens / self.seconds

    @property
    def requests_per_s(self) -> float:
        return self.requests / self.seconds


def mcq_requests(count: int, max_tokens: int) -> list[ChatRequest]:
    """``count`` MCQ requests as the engine builds them, several samples per caption."""
    captions = sum(len(clip.captions) for clip in read_manifest(SAMPLE_MANIFEST))
    config = GenerateConfig(
        manifest=SAMPLE_MANIFEST,
        output=REPO_ROOT / "outputs" / "unused",
        tasks=["mcq"],
        per_caption=-(-count // captions),
        limit=count,
    )
    template = TemplateStore(DEFAULT_PROMPTS_DIR).get("mcq_expert")
    sampling = SamplingConfig(max_tokens=max_tokens)
    return [
        generation_request(group.items, template.render(**group_context(group.items)), sampling)
        for group in iter_groups(config, read_manifest(SAMPLE_MANIFEST))
    ]


def run_direct(backend: VllmBackend, requests: list[ChatRequest]) -> Timing:
    prompts = [{"prompt_token_ids": backend.prompt_token_ids(r)} for r in requests]
    params = [backend.sampling_params(r) for r in requests]
    backend.llm.reset_prefix_cache()
    start = time.perf_counter()
    results = backend.llm.generate(prompts, params, use_tqdm=False)
    seconds = time.perf_counter() - start
    tokens = sum(len(sample.token_ids) for result in results for sample in result.outputs)
    return Timing(seconds, len(requests), tokens)


def run_ours(backend: VllmBackend, requests: list[ChatRequest]) -> Timing:
    async def submit_all() -> int:
        completions = await asyncio.gather(*(backend.complete(r) for r in requests))
        return sum(c.completion_tokens for c in completions)

    backend.llm.reset_prefix_cache()
    start = time.perf_counter()
    tokens = asyncio.run(submit_all())
    return Timing(time.perf_counter() - start, len(requests), tokens)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", required=True, help="Hugging Face model folder or id")
    parser.add_argument("--requests", type=int, default=256)
    parser.add_argument("--max-tokens", type=int, default=128)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--dtype", default="auto")
    args = parser.parse_args()

    requests = mcq_requests(args.requests, args.max_tokens)
    backend = VllmBackend(args.model, enforce_eager=True, max_model_len=4096, dtype=args.dtype)
    try:
        run_ours(backend, requests[:16])  # warm-up: grammar compile, first allocations
        direct: list[Timing] = []
        ours: list[Timing] = []
        for round_index in range(args.rounds):
            order = [run_direct, run_ours] if round_index % 2 == 0 else [run_ours, run_direct]
            for runner in order:
                timing = runner(backend, requests)
                (direct if runner is run_direct else ours).append(timing)
                print(
                    f"round {round_index + 1} {runner.__name__[4:]:>6}: {timing.seconds:7.1f} s "
                    f"{timing.tokens_per_s:8.1f} tok/s {timing.requests_per_s:6.2f} req/s",
                    flush=True,
                )
    finally:
        asyncio.run(backend.aclose())
    report(direct, ours, args)


def report(direct: list[Timing], ours: list[Timing], args: argparse.Namespace) -> None:
    def total(timings: list[Timing]) -> Timing:
        return Timing(
            sum(t.seconds for t in timings),
            sum(t.requests for t in timings),
            sum(t.tokens for t in timings),
        )

    d, o = total(direct), total(ours)
    print()
    print(f"{args.requests} MCQ requests, max_tokens {args.max_tokens}, {args.rounds} rounds")
    print("| path | tokens/s | requests/s | completion tokens |")
    print("|---|---|---|---|")
    print(f"| LLM.generate direct | {d.tokens_per_s:.1f} | {d.requests_per_s:.2f} | {d.tokens} |")
    print(f"| VllmBackend.complete | {o.tokens_per_s:.1f} | {o.requests_per_s:.2f} | {o.tokens} |")
    print(f"ratio ours/direct: tokens/s {o.tokens_per_s / d.tokens_per_s:.3f}, "
          f"requests/s {o.requests_per_s / d.requests_per_s:.3f} (target >= 0.95)")  # fmt: skip


if __name__ == "__main__":
    main()
