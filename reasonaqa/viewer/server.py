"""The viewer's HTTP server: aiohttp on 127.0.0.1 only, read-only.

Routes: ``/`` the page (filters in the query string), ``/api/rows`` the same rows as JSON,
``/audio/<path>`` a clip under ``--audio-root`` (aiohttp's FileResponse answers Range
requests), ``/plots/<name>`` a figure of the dataset card. DuckDB queries block, so they run
in worker threads and the event loop keeps serving audio meanwhile.
"""

from __future__ import annotations

import asyncio
import json
import signal
import socket
import sys
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import duckdb
from aiohttp import web

from reasonaqa.errors import InputError
from reasonaqa.viewer.folder import Folder, open_folder
from reasonaqa.viewer.page import render_error, render_page
from reasonaqa.viewer.query import DEFAULT_PAGE_SIZE, Filters, Page, RowQuery

HOST = "127.0.0.1"
LOCAL_NAMES = frozenset({HOST, "localhost"})
Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


@dataclass(frozen=True)
class Viewer:
    """What every handler needs: the folder, its queries, and where clips are (if anywhere)."""

    folder: Folder
    rows: RowQuery
    audio_root: Path | None


VIEWER = web.AppKey("viewer", Viewer)


def make_app(folder: Folder, rows: RowQuery, audio_root: Path | None) -> web.Application:
    app = web.Application(middlewares=[_local_only, _one_line_errors])
    root = audio_root.resolve() if audio_root is not None else None
    app[VIEWER] = Viewer(folder, rows, root)
    app.router.add_get("/", _index)
    app.router.add_get("/api/rows", _rows_json)
    app.router.add_get("/audio/{path:.+}", _audio)
    app.router.add_get("/plots/{name}", _plot)
    return app


def run_viewer(root: Path, *, audio_root: Path | None, port: int) -> None:
    """Serve ``root`` until Ctrl-C or SIGTERM; prints the URL once it answers."""
    if audio_root is not None and not audio_root.is_dir():
        raise InputError("--audio-root is not a folder", file=audio_root)
    folder = open_folder(root)
    rows = RowQuery(folder)
    try:
        _warm(rows, root)
        sock = _listen(port)
        url = f"http://{HOST}:{sock.getsockname()[1]}/"
        app = make_app(folder, rows, audio_root)
        ready = f"serving {folder.kind} {folder.root} at {url} (read-only; Ctrl-C stops)"
        asyncio.run(_serve(app, sock, ready))
    except KeyboardInterrupt:
        pass  # Ctrl-C is how a user stops the viewer: not an error
    finally:
        rows.close()


def _warm(rows: RowQuery, root: Path) -> None:
    """Compute the menus before printing the URL: the first page is then quick, and a
    broken Parquet file shows up as one line now rather than as a failing page later."""
    try:
        rows.facets()
    except duckdb.Error as err:
        raise InputError(f"cannot read Parquet: {_one_line(err)}", file=root) from err


def _listen(port: int) -> socket.socket:
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    try:
        sock.bind((HOST, port))
        sock.listen(128)
    except OSError as err:
        sock.close()
        raise InputError(f"cannot listen on {HOST}:{port}: {err.strerror}") from err
    return sock


async def _serve(app: web.Application, sock: socket.socket, ready: str) -> None:
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    await web.SockSite(runner, sock).start()
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    print(ready, flush=True)
    try:
        await stop.wait()
    finally:
        await runner.cleanup()


@web.middleware
async def _local_only(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Answer only requests addressed to this machine by name: a web page elsewhere that
    points its own host name at 127.0.0.1 (DNS rebinding) must not read the rows or clips."""
    host = (request.host or "").rsplit(":", 1)[0].lower()
    if host not in LOCAL_NAMES:
        raise web.HTTPForbidden(text="the viewer answers requests to 127.0.0.1 or localhost only")
    return await handler(request)


@web.middleware
async def _one_line_errors(request: web.Request, handler: Handler) -> web.StreamResponse:
    """A request that fails (say, a shard replaced mid-read) is one line, on the page and
    stderr, never a traceback."""
    try:
        return await handler(request)
    except web.HTTPException:
        raise
    except Exception as err:
        message = _one_line(err)
        if isinstance(err, duckdb.IOException):
            # The files were listed at start; a rerun that republished them moved them away.
            message += " (did the folder change? restart reasonaqa view)"
        elif not isinstance(err, duckdb.Error):
            message = f"{type(err).__name__}: {message}"
        print(f"error: {request.path_qs}: {message}", file=sys.stderr, flush=True)
        return web.Response(status=500, text=render_error(message), content_type="text/html")


async def _index(request: web.Request) -> web.Response:
    filters, page = await _query(request)
    viewer = request.app[VIEWER]
    facets = await asyncio.to_thread(viewer.rows.facets)
    html = render_page(
        viewer.folder,
        facets,
        filters,
        page,
        statuses=viewer.rows.statuses,
        audio=viewer.audio_root is not None,
    )
    return web.Response(text=html, content_type="text/html")


async def _rows_json(request: web.Request) -> web.Response:
    _, page = await _query(request)
    body = {"total": page.total, "counts": page.counts, "offset": page.offset, "rows": page.rows}
    return web.json_response(body, dumps=_dumps)


async def _query(request: web.Request) -> tuple[Filters, Page]:
    query = {key: request.query.getall(key) for key in request.query}
    filters = Filters.from_query(query)
    number = _positive_int(request, "page", 1)
    size = _positive_int(request, "size", DEFAULT_PAGE_SIZE)
    page = await asyncio.to_thread(
        request.app[VIEWER].rows.page, filters, (number - 1) * size, size
    )
    return filters, page


def _positive_int(request: web.Request, name: str, default: int) -> int:
    text = request.query.get(name, "")
    if not text:
        return default
    if not text.isdigit() or int(text) < 1:
        raise web.HTTPBadRequest(text=f"{name} must be a positive integer, not {text!r}")
    return int(text)


async def _audio(request: web.Request) -> web.FileResponse:
    root = request.app[VIEWER].audio_root
    if root is None:
        raise web.HTTPNotFound(text="no --audio-root was given")
    return web.FileResponse(confined(root, request.match_info["path"]))


async def _plot(request: web.Request) -> web.FileResponse:
    # Only the card's own figures, by name: the URL never becomes a path by itself.
    plots = {p.name: p for p in request.app[VIEWER].folder.plots}
    path = plots.get(request.match_info["name"])
    if path is None or not path.is_file():
        raise web.HTTPNotFound(text="no such plot")
    return web.FileResponse(path)


def confined(root: Path, relative: str) -> Path:
    """``root/relative`` if it is a file inside ``root`` (links resolved); else 403 or 404."""
    if "\x00" in relative:
        raise web.HTTPForbidden(text="path outside the audio root")
    path = (root / relative).resolve()
    if not path.is_relative_to(root):
        raise web.HTTPForbidden(text="path outside the audio root")
    if not path.is_file():
        raise web.HTTPNotFound(text="no such audio file")
    return path


def _dumps(value: Any) -> str:
    return json.dumps(value, default=str)


def _one_line(err: BaseException) -> str:
    return " ".join(str(err).split())
