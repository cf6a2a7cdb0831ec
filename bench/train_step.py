"""Step time and peak memory of the full-size Mellow (167M) training on one device.

    .venv/bin/python bench/train_step.py [--batch 2] [--steps 3] [--device cpu|cuda]
        [--profile reference|fast] [--precision fp32|bf16]

Random weights of the real shapes (HTSAT frozen, projection + SmolLM2-135M trained), 10 s
clips, a 129-token prompt and a 64-token answer; the first step is a warm-up and not timed.
``--profile`` takes the trainer's settings of that profile (clipping, HTSAT mode, precision);
``--precision`` overrides the precision alone. Reference (fp32) against bf16 on a GPU:

    bench/train_step.py --device cuda --batch 4 --profile reference
    bench/train_step.py --device cuda --batch 4 --profile reference --precision bf16
    bench/train_step.py --device cuda --batch 4 --profile fast

Prints a markdown table.
"""

from __future__ import annotations

import argparse
import resource
import statistics
import sys
import time

import torch

from reasonaqa.mellow.clipping import AdaptiveClipper
from reasonaqa.mellow.config import load_config
from reasonaqa.mellow.language_model import load_tokenizer
from reasonaqa.mellow.model import build_mellow


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--batch", type=int, default=2)
    parser.add_argument("--steps", type=int, default=3)
    parser.add_argument("--answer-tokens", type=int, default=64)
    parser.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    parser.add_argument("--profile", choices=["reference", "fast"], default="reference")
    parser.add_argument("--precision", choices=["fp32", "bf16"], default=None)
    args = parser.parse_args()
    device = torch.device(args.device)
    config = load_config(None, [f"profile={args.profile}", "model.language_model=random"])
    torch.manual_seed(0)
    model = build_mellow(config.model, load_tokenizer("random"))
    model.to(device).train()
    params = sum(p.numel() for p in model.parameters())
    trainable = [p for p in model.parameters() if p.requires_grad]
    optimizer = torch.optim.Adam(trainable, lr=1e-4)
    clipper = None
    if config.optim.clip == "adaptive":
        clipper = AdaptiveClipper(model.named_parameters())
    precision = args.precision or config.train.precision
    bf16 = precision == "bf16" or (precision == "auto" and device.type == "cuda")
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
        if clipper is not None:
            clipper.clip()
        else:
            torch.nn.utils.clip_grad_norm_(trainable, config.optim.max_grad_norm)
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
        (
            "profile",
            f"{args.profile} (clip {config.optim.clip}, HTSAT "
            f"{config.model.audio_encoder_mode} mode)",
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
