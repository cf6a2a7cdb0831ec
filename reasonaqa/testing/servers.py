"""Start real local servers as subprocesses for tests and benches, and stop them afterwards.

Each context manager picks a free port on 127.0.0.1, starts the server, waits until
``GET /v1/models`` answers, yields the OpenAI base URL ``http://127.0.0.1:PORT/v1``, and on
exit terminates the process (then kills it if it lingers). Server output goes to a temporary
file whose tail is quoted when the server fails to start.
"""

from __future__ import annotations

import json
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import IO

from reasonaqa.config import smollm2_gguf_path
from reasonaqa.testing.fault_server import Mode

FAULT_SERVER_START_S = 30.0
LLAMA_SERVER_START_S = 180.0


class ServerStartError(RuntimeError):
    """A test server exited or never answered; the message quotes the end of its output."""


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextmanager
def fault_server(
    rates: Mapping[str, float] | None = None,
    log: Path | None = None,
    mode: Mode = "faults",
    cpu: int | None = None,
    seed: int = 0,
    hang_s: float = 10.0,
    retry_after_s: int = 1,
    latency_s: float = 0.0,
    api_key: str | None = None,
    models_endpoint: bool = True,
) -> Iterator[str]:
    """The fault-injecting server (``reasonaqa.testing.fault_server``), pinned to ``cpu`` if set.

    ``api_key``: requests without it get 401; ``models_endpoint=False``: ``/models`` is 404."""
    port = free_port()
    command = [sys.executable, "-m", "reasonaqa.testing.fault_server", "--port", str(port)]
    command += ["--mode", mode, "--seed", str(seed), "--hang-seconds", str(hang_s)]
    command += ["--retry-after", str(retry_after_s), "--latency-seconds", str(latency_s)]
    if rates:
        command += ["--rates", json.dumps(dict(rates))]
    if log is not None:
        command += ["--log", str(log)]
    if api_key is not None:
        command += ["--api-key", api_key]
    if not models_endpoint:
        command.append("--no-models")
    if cpu is not None and shutil.which("taskset"):
        command = ["taskset", "-c", str(cpu), *command]
    with _serving(command, port, FAULT_SERVER_START_S) as url:
        yield url


def llama_unavailable() -> str | None:
    """Why llama.cpp's server cannot run here (for a test to skip with), or None."""
    import importlib.util

    from reasonaqa.errors import InputError

    if importlib.util.find_spec("llama_cpp") is None:
        return "llama-cpp-python is not installed"
    try:
        smollm2_gguf_path()
    except InputError as err:
        return str(err)
    return None


@contextmanager
def llama_server(model_path: Path | None = None, n_ctx: int = 2048) -> Iterator[str]:
    """llama-cpp-python's OpenAI server on the bundled SmolLM2 GGUF (or ``model_path``).

    Its quirks, which clients must work around: ``response_format`` of type ``json_schema``
    gets HTTP 500 (send ``{"type": "json_object", "schema": ...}``), the default
    ``repeat_penalty`` 1.1 breaks grammar enforcement (send 1.0), ``n`` > 1 silently returns
    one choice, and requests run one at a time.
    """
    model = model_path or smollm2_gguf_path()
    port = free_port()
    command = [sys.executable, "-m", "llama_cpp.server", "--model", str(model)]
    command += ["--host", "127.0.0.1", "--port", str(port), "--n_ctx", str(n_ctx)]
    with _serving(command, port, LLAMA_SERVER_START_S) as url:
        yield url


@contextmanager
def _serving(command: list[str], port: int, start_s: float) -> Iterator[str]:
    url = f"http://127.0.0.1:{port}/v1"
    with tempfile.TemporaryFile(mode="w+b") as output:
        process = subprocess.Popen(command, stdout=output, stderr=subprocess.STDOUT)
        try:
            _wait_ready(process, url, start_s, output)
            yield url
        finally:
            _stop(process)


def _wait_ready(
    process: subprocess.Popen[bytes], url: str, start_s: float, output: IO[bytes]
) -> None:
    deadline = time.monotonic() + start_s
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise ServerStartError(f"server exited with {process.returncode}: {_tail(output)}")
        try:
            with urllib.request.urlopen(f"{url}/models", timeout=2) as response:
                if response.status == 200:
                    return
        except urllib.error.HTTPError as err:
            if err.code in (401, 404):  # up, but wants a key or has no model list
                return
        except (urllib.error.URLError, ConnectionError, TimeoutError):
            pass
        time.sleep(0.05)
    raise ServerStartError(f"server not ready after {start_s:.0f} s: {_tail(output)}")


def _tail(output: IO[bytes], size: int = 2000) -> str:
    output.seek(0)
    return output.read().decode("utf-8", "replace")[-size:].strip()


def _stop(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is not None:
        return
    process.terminate()
    try:
        process.wait(timeout=5)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()
