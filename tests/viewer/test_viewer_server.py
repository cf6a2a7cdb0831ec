"""``reasonaqa view`` as a user runs it: a real subprocess on 127.0.0.1, real HTTP, and a real
headless Chromium loading the page (skipped where Chromium is not installed)."""

from __future__ import annotations

import contextlib
import http.client
import json
import os
import re
import shutil
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from reasonaqa.testing.viewer_folder import snapshot

REPO = Path(__file__).resolve().parents[2]
CLI = [sys.executable, "-m", "reasonaqa"]
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")


def cli(*args: str) -> list[str]:
    return [*CLI, *args]


def environment() -> dict[str, str]:
    return os.environ | {"PYTHONPATH": str(REPO)}


class Viewer:
    """A running ``reasonaqa view``: its URL, GET over a raw HTTP connection, and once it has
    stopped, its exit status and stderr."""

    def __init__(self, process: subprocess.Popen[str], url: str) -> None:
        self.process = process
        self.url = url
        self.port = int(url.rsplit(":", 1)[1].strip("/"))
        self.stderr = ""

    def get(self, path: str, headers: dict[str, str] | None = None) -> tuple[int, dict, bytes]:
        # http.client sends the path as written: no client-side ".." clean-up hides an escape.
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=30)
        try:
            conn.request("GET", path, headers=headers or {})
            response = conn.getresponse()
            return response.status, dict(response.getheaders()), response.read()
        finally:
            conn.close()


@contextlib.contextmanager
def running(folder: Path, *options: str) -> Iterator[Viewer]:
    """``reasonaqa view FOLDER`` started from inside the folder, stopped with SIGTERM."""
    process = subprocess.Popen(
        cli("view", str(folder), *options),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=environment(),
        cwd=folder,  # a viewer started inside the run folder still writes nothing there
    )
    line = process.stdout.readline() if process.stdout else ""
    match = re.search(r"http://127\.0\.0\.1:\d+/", line)
    if match is None:
        process.kill()
        pytest.fail(f"no URL printed: {line!r} {process.communicate()[1]!r}")
    viewer = Viewer(process, match.group(0))
    try:
        yield viewer
    finally:
        process.terminate()
        viewer.stderr = process.communicate(timeout=30)[1]
    assert process.returncode == 0, viewer.stderr
    assert "Traceback" not in viewer.stderr


@pytest.fixture(scope="module")
def viewer(run_folder: Path, audio_root: Path) -> Iterator[Viewer]:
    before = snapshot(run_folder)
    with running(run_folder, "--audio-root", str(audio_root)) as started:
        yield started
    assert snapshot(run_folder) == before  # read-only: not one file added or touched


def test_page_is_filtered_by_the_url(viewer: Viewer) -> None:
    status, _, body = viewer.get("/?task=mcq&status=rejected")
    assert status == 200
    assert record_ids(body.decode()) == ["rej-mcq-1", "rej-mcq-2"]


def test_rows_as_json(viewer: Viewer) -> None:
    status, _, body = viewer.get("/api/rows?split=val&size=1&page=2")
    assert status == 200
    data = json.loads(body)
    assert (data["total"], data["offset"]) == (2, 1)
    assert [row["record_id"] for row in data["rows"]] == ["quar-mcq-1"]
    assert viewer.get("/api/rows?page=zero")[0] == 400


def test_audio_by_range_request(viewer: Viewer, audio_root: Path) -> None:
    wav = (audio_root / "clips" / "a1.wav").read_bytes()
    status, headers, body = viewer.get("/audio/clips/a1.wav", {"Range": "bytes=100-299"})
    assert status == 206
    assert body == wav[100:300]
    assert headers["Content-Range"] == f"bytes 100-299/{len(wav)}"
    status, _, body = viewer.get("/audio/clips/a1.wav")
    assert (status, body) == (200, wav)


@pytest.mark.parametrize(
    "path",
    [
        "/audio/../secret.txt",
        "/audio/..%2Fsecret.txt",
        "/audio/clips/..%2F..%2Fsecret.txt",
        "/audio/%2E%2E/secret.txt",
        "/audio/%2Fetc%2Fpasswd",
        "/audio/clips/missing.wav",
    ],
)
def test_paths_outside_the_audio_root_are_refused(viewer: Viewer, path: str) -> None:
    status, _, body = viewer.get(path)
    assert status in (403, 404)
    assert b"not for the viewer" not in body and b"root:" not in body


def test_other_host_names_are_refused(viewer: Viewer) -> None:
    assert viewer.get("/", {"Host": f"localhost:{viewer.port}"})[0] == 200
    status, _, body = viewer.get("/audio/clips/a1.wav", {"Host": f"rebound.example:{viewer.port}"})
    assert status == 403
    assert not body.startswith(b"RIFF")


def test_card_plots_by_name_only(viewer: Viewer) -> None:
    status, headers, body = viewer.get("/plots/answer_letters.png")
    assert (status, headers["Content-Type"]) == (200, "image/png")
    assert body.startswith(b"\x89PNG")
    assert viewer.get("/plots/..%2F..%2F_run.json")[0] == 404


@pytest.mark.skipif(CHROMIUM is None, reason="headless Chromium is not installed")
def test_headless_chromium_shows_the_filtered_rows(viewer: Viewer, tmp_path: Path) -> None:
    dom = chromium_dom(viewer.url + "?task=mcq&status=rejected", tmp_path)
    assert record_ids(dom) == ["rej-mcq-1", "rej-mcq-2"]
    assert "copies it" in dom  # the set-aside message
    assert 'class="correct"' in dom
    dom = chromium_dom(viewer.url + "?split=val", tmp_path)
    assert record_ids(dom) == ["acc-val-1", "quar-mcq-1"]
    assert re.search(r'<li class="correct">\(b\) rain falling', dom)
    assert '<audio controls="" preload="none" src="/audio/clips/a2.wav">' in dom
    assert "http_error" in dom


def chromium_dom(url: str, profile: Path) -> str:
    """The DOM after load, as headless Chromium renders it."""
    result = subprocess.run(
        [
            str(CHROMIUM),
            "--headless",
            "--no-sandbox",  # tests run as root in containers, where the sandbox cannot start
            "--disable-gpu",
            "--disable-dev-shm-usage",
            "--no-first-run",
            f"--user-data-dir={profile / 'chromium'}",
            "--dump-dom",
            url,
        ],
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    return result.stdout


def record_ids(html: str) -> list[str]:
    return re.findall(r'data-record-id="([^"]+)"', html)


def test_bad_input_is_one_line_and_exit_2(tmp_path: Path, run_folder: Path) -> None:
    busy = socket.socket()
    busy.bind(("127.0.0.1", 0))
    busy.listen()
    try:
        cases = [
            (cli("view", str(tmp_path / "missing")), "no such folder"),
            (cli("view", str(tmp_path)), "not a run or build folder"),
            (cli("view", str(run_folder), "--audio-root", str(tmp_path / "x")), "not a folder"),
            (cli("view", str(run_folder), "--port", str(busy.getsockname()[1])), "cannot listen"),
            (cli("view", str(run_folder), "--port", "70000"), "--port"),
        ]
        for args, expected in cases:
            done = subprocess.run(args, capture_output=True, text=True, env=environment())
            assert done.returncode == 2, done.stderr
            assert expected in done.stderr
            assert "Traceback" not in done.stderr
            assert done.stdout == ""
    finally:
        busy.close()


def test_a_shard_gone_mid_session_is_a_one_line_error(tmp_path: Path, run_folder: Path) -> None:
    folder = tmp_path / "run"
    shutil.copytree(run_folder, folder)
    with running(folder) as viewer:
        (folder / "data" / "val-00000.parquet").unlink()  # as a rerun republishing data/ would
        status, _, body = viewer.get("/?split=val")
        assert status == 500
        assert re.search(rb'<span id="error">[^<\n]*val-00000\.parquet', body)
    errors = [line for line in viewer.stderr.splitlines() if line.startswith("error:")]
    assert len(errors) == 1 and "val-00000.parquet" in errors[0]
