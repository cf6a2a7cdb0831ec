"""Step time and peak memory of the full-size Mellow (167M) training on one device.

    .venv/bin/python bench/train_step.py [--batch 2] [--steps 3] [--device cpu|cuda]

Random weights of the real shapes (HTSAT frozen, projection + SmolLM2-135M trained), 10 s
clips, a 129-token prompt and a 64-token answer; the first step is a warm-up and not timed.
Prints a markdown table.
"""

from __future__ import annotations

import argparse
import resource
import statistics
import sys
import time

import torch

from reasonaqa.mellow.config import ModelConfig
from reasonaqa.mellow.language_model import load_tokenizer
from reasonaqa.mellow.model import build_mellow


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--batch", type=int, default=2)
    parser.add_argument("--steps", type=int, default=3)
    parser.add_argument("--answer-tokens", type=int, default=64)
    parser.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    args = parser.parse_args()
    device = torch.device(args.device)
    torch.manual_seed(0)
    model = build_mellow(ModelConfig(language_model="random"), load_tokenizer("random"))
    model.to(device).train()
    params = sum(p.numel() for p in model.parameters())
    trainable = [p for p in model.parameters() if p.requires_grad]
    optimizer = torch.optim.Adam(trainable, lr=1e-4)
    bf16 = device.type == "cuda"
    wave = 0.1 * torch.randn(args.batch, 320_000, device=device)
    prompt = torch.randint(1, 49_152, (args.batch, 129), device=device)
    answer = torch.randint(1, 49_152, (args.batch, args.answer_tokens), device=device)
    mask = torch.ones_like(answer, dtype=torch.bool)
    times = []
    for step in range(args.steps + 1):
        if device.type == "cuda":
            torch.cuda.synchronize()
        start = time.perf_counter()
        with torch.autocast(device.type, dtype=torch.bfloat16, enabled=bf16):
            loss = model(wave, wave.flip(0), prompt, answer, mask)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(trainable, 0.5)
        optimizer.step()
        optimizer.zero_grad(set_to_none=True)
        if device.type == "cuda":
            torch.cuda.synchronize()
        if step:
            times.append(time.perf_counter() - start)
    peak_rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024**2  # KiB -> GiB
    rows = [
        (
            "device",
            f"{device.type} ({torch.get_num_threads()} threads)"
            if device.type == "cpu"
            else torch.cuda.get_device_name(device),
        ),
        (
            "parameters",
            f"{params / 1e6:.1f} M ({sum(p.numel() for p in trainable) / 1e6:.1f} M trained)",
        ),
        (
            "batch",
            f"{args.batch} x (2 clips of 10 s, 129 prompt + {args.answer_tokens} answer tokens)",
        ),
        ("precision", "bf16 autocast" if bf16 else "fp32"),
        (f"step time (median of {len(times)})", f"{statistics.median(times):.2f} s"),
        ("samples/s", f"{args.batch / statistics.median(times):.2f}"),
        ("peak process RSS", f"{peak_rss:.2f} GiB"),
    ]
    if device.type == "cuda":
        rows.append(
            ("peak GPU memory", f"{torch.cuda.max_memory_allocated(device) / 1024**3:.2f} GiB")
        )
    print("| Mellow train step | value |\n|---|---|")
    for name, value in rows:
        print(f"| {name} | {value} |")
    sys.stdout.flush()


if __name__ == "__main__":
    main()
