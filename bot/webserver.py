"""The bot's HTTP side: Telegram's webhook, ``/healthz`` and ``/metrics`` (Starlette + uvicorn).

``coach run --webhook`` serves all three on ``WEBHOOK_LISTEN:WEBHOOK_PORT``; in polling
mode ``METRICS_PORT`` serves the last two. The webhook answers only requests that carry
``WEBHOOK_SECRET`` in Telegram's ``X-Telegram-Bot-Api-Secret-Token`` header (403 and
nothing processed otherwise), and answers 200 only after the update was handled: a
crash mid-update makes Telegram deliver it again, and the guard's processed-update ids
make sure it is handled once.
"""

from __future__ import annotations

import asyncio
import contextlib
import hmac
import json
import logging
import signal
from collections.abc import Iterator
from typing import Any
from urllib.parse import urlsplit

import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route
from telegram import Update
from telegram.ext import Application

from bot.settings import Settings

__all__ = ["SECRET_HEADER", "webhook_path", "web_app", "run_webhook", "side_server"]

log = logging.getLogger(__name__)
SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"
MAX_BODY_BYTES = 1 << 20  # an update is a few kB; anything this big is not from Telegram


def webhook_path(url: str) -> str:
    """The path the server answers on: the path of ``WEBHOOK_URL`` (``/`` if it has none)."""
    return urlsplit(url).path or "/"


def _webhook_route(app: Application, secret: str) -> Any:  # type: ignore[type-arg]
    expected = secret.encode("utf-8")

    async def receive(request: Request) -> Response:
        given = request.headers.get(SECRET_HEADER, "").encode("utf-8", "replace")
        # constant time: the secret is the only thing keeping strangers out
        if not hmac.compare_digest(given, expected):
            log.warning("webhook request refused: missing or wrong secret token")
            return JSONResponse({"ok": False, "error": "forbidden"}, status_code=403)
        if int(request.headers.get("content-length") or 0) > MAX_BODY_BYTES:
            return JSONResponse({"ok": False, "error": "too large"}, status_code=413)
        body = await request.body()
        if len(body) > MAX_BODY_BYTES:
            return JSONResponse({"ok": False, "error": "too large"}, status_code=413)
        try:
            data = json.loads(body)
            update = Update.de_json(data, app.bot) if isinstance(data, dict) else None
        except (ValueError, TypeError, KeyError):
            update = None
        if update is None:
            return JSONResponse({"ok": False, "error": "not an update"}, status_code=400)
        if not app.running:  # starting or stopping: Telegram keeps it and tries again
            return JSONResponse({"ok": False, "error": "not running"}, status_code=503)
        # through the update processor: per-chat order, bounded concurrency
        await app.update_processor.process_update(update, app.process_update(update))
        return JSONResponse({"ok": True})

    return receive


def web_app(app: Application, settings: Settings, *,  # type: ignore[type-arg]
            webhook: bool) -> Starlette:
    """The ASGI app: the webhook route (when ``webhook``), ``/healthz`` and ``/metrics``."""
    routes: list[Route] = []
    if webhook:
        routes.append(Route(webhook_path(settings.webhook_url),
                            _webhook_route(app, settings.webhook_secret), methods=["POST"]))
    from bot import ops

    routes.extend(ops.routes(app))
    return Starlette(routes=routes)


class _Server(uvicorn.Server):
    """uvicorn without its own signal handling: ``coach run`` decides when to stop."""

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        yield


def _server(asgi: Starlette, host: str, port: int) -> _Server:
    config = uvicorn.Config(asgi, host=host, port=port, log_config=None, access_log=False,
                            lifespan="off", server_header=False)
    return _Server(config)


async def run_webhook(app: Application, settings: Settings) -> None:  # type: ignore[type-arg]
    """Initialise the bot, register the webhook, serve until SIGINT/SIGTERM, shut down."""
    server = _server(web_app(app, settings, webhook=True), settings.webhook_listen,
                     settings.webhook_port)
    loop = asyncio.get_running_loop()

    def stop() -> None:
        server.should_exit = True

    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, stop)
    serving: asyncio.Task[None] | None = None
    await app.initialize()
    try:
        if app.post_init is not None:
            await app.post_init(app)
        await app.start()
        # listen first, then tell Telegram: no delivery ever finds the port closed
        serving = asyncio.create_task(server.serve(), name="coach-webhook-server")
        while not server.started and not serving.done():
            await asyncio.sleep(0.02)
        if serving.done():
            await serving  # a port already in use: uvicorn logs it and exits 1
            return
        # drop_pending_updates off: what arrived while no instance ran is still handled
        await app.bot.set_webhook(url=settings.webhook_url, secret_token=settings.webhook_secret,
                                  allowed_updates=Update.ALL_TYPES, drop_pending_updates=False)
        log.info("webhook set; listening on %s:%s", settings.webhook_listen,
                 settings.webhook_port)
        await serving
    finally:
        server.should_exit = True
        if serving is not None and not serving.done():
            with contextlib.suppress(Exception):
                await asyncio.wait_for(serving, timeout=10)
        # the webhook stays registered: the other instances behind it keep serving
        if app.running:
            await app.stop()
            if app.post_stop is not None:
                await app.post_stop(app)
        await app.shutdown()
        if app.post_shutdown is not None:
            await app.post_shutdown(app)
        for signum in (signal.SIGINT, signal.SIGTERM):
            loop.remove_signal_handler(signum)


def side_server(app: Application, settings: Settings) -> tuple[Any, Any]:  # type: ignore[type-arg]
    """``(post_init, post_stop)`` hooks serving /healthz and /metrics in polling mode."""
    server = _server(web_app(app, settings, webhook=False), settings.metrics_listen,
                     settings.metrics_port)
    task: dict[str, asyncio.Task[None]] = {}

    async def start(_app: Any) -> None:
        task["serve"] = asyncio.create_task(server.serve(), name="coach-metrics-server")
        log.info("health and metrics on %s:%s", settings.metrics_listen, settings.metrics_port)

    async def stop(_app: Any) -> None:
        server.should_exit = True
        running = task.pop("serve", None)
        if running is not None:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(running, timeout=5)

    return start, stop
