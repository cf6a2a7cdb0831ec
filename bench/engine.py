"""Engine throughput: a bare aiohttp POST loop and the generate engine end to end, same server.

    .venv/bin/python bench/engine.py      # bare, engine 10k, bare, engine 100k, bare
    .venv/bin/python bench/engine.py --sizes 10000 --json out.json

Starts the fault server in instant mode pinned to core 0. Each client run is a fresh
subprocess pinned to core 1 (so its peak RSS is its own): a bare loop that POSTs
engine-shaped requests with bounded concurrency and reads the bodies, and
``reasonaqa.engine.run.generate`` on a synthetic manifest (render, call, parse, validate,
journal, shard). Requests are counted by the server. The speed of a shared machine drifts
from minute to minute, so the bare loop runs before the first engine run and after each
(bare, engine 10k, bare, engine 100k, bare), and each engine run's rate is compared with the
mean of the two bare runs around it; the ratio to the fastest bare run, the strictest
reading, is printed beside it. Prints a markdown table: requests/s, client CPU-seconds per
1,000 requests, peak RSS, the ratios, and the peak RSS at the largest size over the smallest.

Targets (issue 3): engine >= 2,000 requests/s and >= 40% of the bare rate; RSS at 100k
within 10% of 10k.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from dataclasses import asdict, dataclass
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
if str(REPO_ROOT) not in sys.path:
    sys.path.insert(0, str(REPO_ROOT))

SERVER_CPU = 0
CLIENT_CPU = 1


@dataclass
class Measurement:
    name: str
    requests: int
    wall_s: float
    cpu_s: float
    peak_rss_mib: float
    server_cpu_s: float
    accepted: int | None

    @property
    def rate(self) -> float:
        return self.requests / self.wall_s

    @property
    def cpu_per_1k(self) -> float:
        return self.cpu_s / self.requests * 1000

    @property
    def server_cpu_per_1k(self) -> float:
        return self.server_cpu_s / self.requests * 1000


@dataclass
class WorkerResult:
    """What a client subprocess reports on its last stdout line."""

    wall_s: float
    cpu_s: float
    peak_rss_mib: float
    accepted: int | None = None  # rows the engine accepted (None for the bare loop)


# --- client workers (run in a fresh, pinned subprocess) ------------------------------------


def pin_to(cpu: int) -> None:
    if hasattr(os, "sched_setaffinity") and cpu < (os.cpu_count() or 1):
        os.sched_setaffinity(0, {cpu})


def cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def peak_rss_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # Linux reports KiB


def request_body_parts(model: str) -> tuple[bytes, bytes]:
    """An engine-shaped MCQ request split around its seed, so each body is unique and cheap."""
    from reasonaqa.schemas import McqItem, llm_json_schema

    captions = "\n".join(f"- {c}" for c in SYNTHETIC_CAPTIONS)
    body = {
        "model": model,
        "messages": [
            {"role": "system", "content": "You are an expert in acoustics. " * 20},
            {"role": "user", "content": f"Descriptions of the clip:\n{captions}\n" * 2},
        ],
        "response_format": {
            "type": "json_schema",
            "json_schema": {"name": "McqItem", "schema": llm_json_schema(McqItem)},
        },
        "temperature": 0.7,
        "top_p": 0.95,
        "max_tokens": 512,
        "seed": 123456789,
    }
    prefix, suffix = json.dumps(body).encode().split(b"123456789")
    return prefix, suffix


async def bare_loop(base_url: str, total: int, concurrency: int) -> None:
    import aiohttp

    prefix, suffix = request_body_parts("bench")
    url = f"{base_url}/chat/completions"
    headers = {"Content-Type": "application/json"}
    next_index = 0

    async def worker(session: aiohttp.ClientSession) -> None:
        nonlocal next_index
        while next_index < total:
            body = prefix + str(next_index).encode() + suffix
            next_index += 1
            async with session.post(url, data=body, headers=headers) as response:
                await response.read()
                if response.status != 200:
                    raise RuntimeError(f"bare loop got HTTP {response.status}")

    connector = aiohttp.TCPConnector(limit=concurrency)
    async with aiohttp.ClientSession(connector=connector) as session:
        await asyncio.gather(*(worker(session) for _ in range(concurrency)))


def run_engine(base_url: str, manifest: Path, output: Path, concurrency: int) -> int:
    """Generate one MCQ per clip; returns the number of accepted rows."""
    from reasonaqa.config import GenerateConfig
    from reasonaqa.engine.generate import generate

    config = GenerateConfig(
        backend="openai",
        base_url=base_url,
        model="bench",
        manifest=manifest,
        output=output,
        tasks=["mcq"],
        grounding=False,
        audio_votes=0,
        concurrency=concurrency,
        progress=False,
    )
    return generate(config).accepted


def worker_main(args: argparse.Namespace) -> None:
    pin_to(CLIENT_CPU)
    if args.worker == "engine":
        # Imports are not the engine's speed. pyarrow imports pandas (when installed) on its
        # first conversion, which finalize makes, so that import is made here too.
        from reasonaqa.engine import generate  # noqa: F401

        with contextlib.suppress(ImportError):
            import pandas  # noqa: F401
    started, cpu_started = time.perf_counter(), cpu_seconds()
    accepted = None
    if args.worker == "bare":
        # The engine's event loop (uvloop when installed), so the ratio compares like with like.
        from reasonaqa.engine import loop as event_loop

        event_loop.run(bare_loop(args.base_url, args.requests, args.concurrency))
    else:
        accepted = run_engine(args.base_url, args.manifest, args.output, args.concurrency)
    result = WorkerResult(
        wall_s=time.perf_counter() - started,
        cpu_s=cpu_seconds() - cpu_started,
        peak_rss_mib=peak_rss_mib(),
        accepted=accepted,
    )
    print(json.dumps(asdict(result)))


# --- orchestration (parent process) --------------------------------------------------------

SYNTHETIC_CAPTIONS = (
    "A dog barks repeatedly while cars pass by on a wet road",
    "Birds chirp in the distance as wind blows through the trees",
    "A man speaks over the sound of a running engine",
    "Rain falls steadily on a metal roof with distant thunder",
    "People talk and laugh in a busy restaurant",
)


def write_manifest(path: Path, clips: int) -> None:
    """``clips`` synthetic AudioCaps clips with one caption each: one MCQ request per clip."""
    from reasonaqa.schemas import Clip

    with path.open("w", encoding="utf-8") as out:
        for i in range(clips):
            caption = f"{SYNTHETIC_CAPTIONS[i % len(SYNTHETIC_CAPTIONS)]}, take {i}"
            clip = Clip(
                dataset="audiocaps",
                split="train",
                clip_id=f"Y{i:011d}",
                audio_path=f"AudioCapsLarger/train/Y{i:011d}.wav",
                captions=[caption],
                source_rows=[str(i)],
            )
            out.write(clip.model_dump_json() + "\n")


def server_stats(base_url: str) -> tuple[int, float]:
    """Requests the server answered so far, and the CPU-seconds it spent."""
    stats_url = base_url.removesuffix("/v1") + "/_stats"
    with urllib.request.urlopen(stats_url, timeout=10) as response:
        stats = json.load(response)
    return int(stats["requests"]), float(stats["cpu_s"])


def measure(name: str, base_url: str, worker_args: list[str]) -> Measurement:
    """Run one client subprocess; the server counts the requests it made."""
    requests_before, server_cpu_before = server_stats(base_url)
    command = [sys.executable, __file__, "--base-url", base_url, *worker_args]
    done = subprocess.run(command, check=True, capture_output=True, text=True, cwd=REPO_ROOT)
    result = WorkerResult(**json.loads(done.stdout.strip().splitlines()[-1]))
    requests_after, server_cpu_after = server_stats(base_url)
    return Measurement(
        name,
        requests_after - requests_before,
        result.wall_s,
        result.cpu_s,
        result.peak_rss_mib,
        server_cpu_after - server_cpu_before,
        result.accepted,
    )


def measure_bare(base_url: str, requests: int, concurrency: int, run: int) -> Measurement:
    args = ["--worker", "bare", "--requests", str(requests), "--concurrency", str(concurrency)]
    return measure(f"bare aiohttp loop {requests // 1000}k, run {run}", base_url, args)


def measure_engine(base_url: str, requests: int, concurrency: int, workdir: Path) -> Measurement:
    """The engine on a fresh manifest of ``requests`` clips (one MCQ request each)."""
    manifest = workdir / f"manifest-{requests}.jsonl"
    write_manifest(manifest, requests)
    args = ["--worker", "engine", "--concurrency", str(concurrency)]
    args += ["--manifest", str(manifest), "--output", str(workdir / f"run-{requests}")]
    return measure(f"engine {requests // 1000}k", base_url, args)


def table(runs: list[Measurement]) -> str:
    """Runs in the order they ran: bare, engine, bare, engine, ..., bare."""
    bares = [m for m in runs if m.accepted is None]
    engines = [m for m in runs if m.accepted is not None]
    fastest = max(bares, key=lambda m: m.rate)
    lines = [
        "| run | requests | accepted rows | wall s | requests/s | client CPU-s / 1k req "
        "| server CPU-s / 1k req | peak RSS MiB | rate / bare runs around it "
        "| rate / fastest bare run |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for i, m in enumerate(runs):
        accepted = around = "-"
        if m.accepted is not None:
            accepted = f"{m.accepted:,}"
            around = f"{m.rate / statistics.mean([runs[i - 1].rate, runs[i + 1].rate]):.0%}"
        lines.append(
            f"| {m.name} | {m.requests:,} | {accepted} | {m.wall_s:.1f} | {m.rate:,.0f} | "
            f"{m.cpu_per_1k:.3f} | {m.server_cpu_per_1k:.3f} | {m.peak_rss_mib:.0f} | "
            f"{around} | {m.rate / fastest.rate:.0%} |"
        )
    if len(engines) >= 2:
        ratio = engines[-1].peak_rss_mib / engines[0].peak_rss_mib
        lines.append("")
        lines.append(f"Peak RSS {engines[-1].name} / {engines[0].name}: {ratio:.3f}")
    return "\n".join(lines)


def orchestrate(args: argparse.Namespace) -> None:
    from reasonaqa.testing.servers import fault_server

    runs: list[Measurement] = []
    bares = 0

    def bare() -> None:
        nonlocal bares
        bares += 1
        runs.append(measure_bare(url, args.bare, args.concurrency, bares))
        print(f"{runs[-1].name}: {runs[-1].rate:,.0f} requests/s", file=sys.stderr)

    with fault_server(mode="instant", cpu=SERVER_CPU) as url:
        bare()
        if not args.bare_only:
            with tempfile.TemporaryDirectory(prefix="bench-engine-") as tmp:
                for size in args.sizes:
                    runs.append(measure_engine(url, size, args.concurrency, Path(tmp)))
                    print(f"{runs[-1].name}: {runs[-1].rate:,.0f} req/s", file=sys.stderr)
                    bare()
    print(table(runs))
    if args.json:
        rows = [{**asdict(m), "rate": m.rate, "cpu_per_1k": m.cpu_per_1k} for m in runs]
        args.json.write_text(json.dumps(rows, indent=2) + "\n", encoding="utf-8")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--bare", type=int, default=10_000, help="requests in the bare loop")
    parser.add_argument("--sizes", type=int, nargs="+", default=[10_000, 100_000])
    parser.add_argument("--concurrency", type=int, default=64)
    parser.add_argument("--bare-only", action="store_true", help="skip the engine runs")
    parser.add_argument("--json", type=Path, help="also write the measurements here")
    # Worker mode, used by the parent to run one pinned client in a fresh process.
    parser.add_argument("--worker", choices=["bare", "engine"], help=argparse.SUPPRESS)
    parser.add_argument("--base-url", help=argparse.SUPPRESS)
    parser.add_argument("--requests", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--manifest", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--output", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        worker_main(args)
    else:
        orchestrate(args)


if __name__ == "__main__":
    main()
