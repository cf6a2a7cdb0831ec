"""K questions per request against one: tokens per accepted item, within-clip duplicates.

    .venv/bin/python bench/per_request.py                 # both settings, K=1 and K=5
    .venv/bin/python bench/per_request.py --embedded-limit 20 --server-items 1000

Two settings, each run with ``--per-request 1`` and ``--per-request 5`` side by side, five
items per caption of one task (``--task``, MCQ by default), second passes off (they cost the
same per item whatever K is):
- the embedded model (SmolLM2-135M in llama.cpp) on the bundled sample manifest, the first
  ``--embedded-limit`` items;
- the fault server in ``instant`` mode (an instant local OpenAI-compatible server; its
  content is fake, so only its token figures mean something) on a synthetic manifest of
  ``--server-items`` items, one caption a clip.

Tokens are the backend's usage counts (llama.cpp's tokenizer; the fault server's 4
characters a token), divided by the accepted items (after duplicate removal) and by the
valid items (those that kept the contract: not quarantined; on the embedded model few pass
the checks, so this is the figure to read there). The within-clip duplicate rate is the
share of the items that passed every check that finalize then removed as an exact or near
duplicate of another question about the same clip. Prints a markdown table.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
if str(REPO_ROOT) not in sys.path:
    sys.path.insert(0, str(REPO_ROOT))

from reasonaqa.config import GenerateConfig  # noqa: E402
from reasonaqa.engine.generate import generate  # noqa: E402
from reasonaqa.schemas import Clip  # noqa: E402
from reasonaqa.sources.manifests import write_manifest  # noqa: E402
from reasonaqa.storage.layout import RunPaths  # noqa: E402
from reasonaqa.testing.fault_server import MODEL_ID  # noqa: E402
from reasonaqa.testing.servers import fault_server  # noqa: E402

SAMPLE_MANIFEST = REPO_ROOT / "manifests" / "sample.jsonl"
PER_CAPTION = 5
KS = (1, 5)


@dataclass
class Figures:
    setting: str
    k: int
    records: int
    requests: int
    accepted: int
    duplicates: int
    rejected: int
    quarantined: int
    reasons: dict[str, int]
    prompt_tokens: int
    completion_tokens: int
    wall_s: float

    @property
    def passed_checks(self) -> int:
        return self.accepted + self.duplicates

    @property
    def valid(self) -> int:
        return self.records - self.quarantined

    def row(self) -> str:
        dup = f"{self.duplicates / self.passed_checks:.1%}" if self.passed_checks else "-"
        cells = [
            self.setting,
            str(self.k),
            f"{self.records:,}",
            f"{self.requests:,}",
            f"{self.valid:,}",
            f"{self.accepted:,}",
            _per(self.prompt_tokens, self.accepted),
            _per(self.completion_tokens, self.accepted),
            _per(self.prompt_tokens, self.valid),
            _per(self.completion_tokens, self.valid),
            f"{dup} ({self.duplicates}/{self.passed_checks})",
            f"{self.wall_s:,.0f}",
        ]
        return "| " + " | ".join(cells) + " |"


HEADER = (
    "| setting | K | records | requests | valid | accepted | prompt tok / accepted "
    "| completion tok / accepted | prompt tok / valid | completion tok / valid "
    "| within-clip duplicates | wall s |\n"
    "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|"
)


def _per(tokens: int, items: int) -> str:
    return f"{tokens / items:,.0f}" if items else "-"


def run(setting: str, config: GenerateConfig) -> Figures:
    start = time.perf_counter()
    result = generate(config)
    wall = time.perf_counter() - start
    manifest = json.loads(RunPaths(config.output).run_manifest.read_text())
    session = manifest["session"]
    rejected = sum(result.rejected.values())
    duplicates = result.final.duplicates_removed
    return Figures(
        setting=setting,
        k=config.per_request,
        records=result.accepted + rejected + result.quarantined,
        requests=session["calls"],
        accepted=result.accepted,
        duplicates=duplicates,
        rejected=rejected - duplicates,
        quarantined=result.quarantined,
        reasons={**result.rejected, **{f"q:{k}": v for k, v in result.counts.quarantined.items()}},
        prompt_tokens=session["prompt_tokens"],
        completion_tokens=session["completion_tokens"],
        wall_s=wall,
    )


def configs(
    work: Path, manifest: Path, task: str, limit: int | None, **llm: object
) -> list[GenerateConfig]:
    return [
        GenerateConfig.model_validate(
            {
                "manifest": manifest,
                "output": work / f"run-k{k}",
                "tasks": [task],
                "per_caption": PER_CAPTION,
                "per_request": k,
                "limit": limit,
                "grounding": False,
                "audio_votes": 0,
                "progress": False,
            }
            | llm
        )
        for k in KS
    ]


def synthetic_manifest(path: Path, items: int) -> None:
    """Clips of one caption each, PER_CAPTION items a caption: ``items`` items in all."""
    sounds = ("a dog barks", "rain falls on a roof", "a car engine idles", "birds sing")
    places = ("in a park", "on a busy street", "near a river", "inside a kitchen")
    clips = [
        Clip(
            dataset="audiocaps",
            split="train",
            clip_id=f"Y{i:011d}",
            audio_path=f"Y{i:011d}.wav",
            captions=[f"{sounds[i % 4].capitalize()} {places[(i // 4) % 4]}, take {i}"],
            source_rows=[str(i)],
        )
        for i in range(items // PER_CAPTION)
    ]
    write_manifest(clips, path)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--embedded-limit", type=int, default=10, help="items, 0 to skip")
    parser.add_argument("--server-items", type=int, default=10_000, help="items, 0 to skip")
    parser.add_argument("--task", choices=["mcq", "detail"], default="mcq")
    args = parser.parse_args()
    print(HEADER, flush=True)  # rows as they come: the embedded runs take minutes each
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        if args.server_items:
            manifest = work / "synthetic.jsonl"
            synthetic_manifest(manifest, args.server_items)
            with fault_server(mode="instant") as url:
                llm = {"backend": "openai", "base_url": url, "model": MODEL_ID, "concurrency": 64}
                for config in configs(work / "server", manifest, args.task, None, **llm):
                    report(run(f"fault server, instant, {args.task}", config))
        if args.embedded_limit:
            limit = args.embedded_limit
            for config in configs(work / "embedded", SAMPLE_MANIFEST, args.task, limit):
                report(run(f"embedded SmolLM2-135M, {args.task}", config))


def report(figure: Figures) -> None:
    print(figure.row())
    print(
        f"<!-- {figure.setting}, K={figure.k}: {figure.prompt_tokens} prompt and "
        f"{figure.completion_tokens} completion tokens; set aside {figure.reasons} -->",
        flush=True,
    )


if __name__ == "__main__":
    main()
