"""A local Bot API emulator over HTTP on 127.0.0.1, for end-to-end tests and benches.

It serves a :class:`bot.fakebot.FakeTelegram` the way PTB 22's ``HTTPXRequest``
talks to Telegram: ``POST /bot<token>/<method>`` with form-encoded or multipart
bodies, long polling ``getUpdates`` with offsets (unconfirmed updates are
delivered again), 429 with ``retry_after`` beyond the configured rate, 401 for a
wrong token. Run standalone with ``python -m bot.fakeserver --port 8081 --token T``.
"""

from __future__ import annotations

import argparse
import json
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from email.parser import BytesParser
from email.policy import HTTP
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl, urlsplit

from bot.fakebot import FakeTelegram

__all__ = ["serve", "FakeBotServer"]

HOST = "127.0.0.1"  # never anything else


def _parse_body(content_type: str, body: bytes) -> tuple[dict[str, Any], dict[str, bytes]]:
    params: dict[str, Any] = {}
    files: dict[str, bytes] = {}
    if not body:
        return params, files
    if content_type.startswith("application/json"):
        return json.loads(body), files
    if content_type.startswith("multipart/form-data"):
        message = BytesParser(policy=HTTP).parsebytes(
            f"Content-Type: {content_type}\r\n\r\n".encode() + body)
        for part in message.iter_parts():
            name = part.get_param("name", header="content-disposition")
            payload = part.get_payload(decode=True) or b""
            if part.get_filename():
                files[str(name)] = payload
            else:
                params[str(name)] = payload.decode()
        return params, files
    return dict(parse_qsl(body.decode(), keep_blank_values=True)), files


class FakeBotServer(ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 256  # a bot opens many connections at once

    def __init__(self, telegram: FakeTelegram, token: str, port: int = 0) -> None:
        self.telegram = telegram
        self.token = token
        super().__init__((HOST, port), _Handler)

    @property
    def base_url(self) -> str:
        return f"http://{HOST}:{self.server_address[1]}/bot"


class _Handler(BaseHTTPRequestHandler):
    server: FakeBotServer
    protocol_version = "HTTP/1.1"  # keep-alive, as Telegram's servers do

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - stdlib signature
        return None

    def _answer(self, status: int, body: dict[str, Any]) -> None:
        data = json.dumps(body, ensure_ascii=False).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def _handle(self) -> None:
        path = urlsplit(self.path).path
        prefix, _, method = path.rpartition("/")
        if not prefix.startswith("/bot") or prefix[4:] != self.server.token:
            self._answer(401, {"ok": False, "error_code": 401, "description": "Unauthorized"})
            return
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        params, files = _parse_body(self.headers.get("Content-Type", ""), body)
        params.update(dict(parse_qsl(urlsplit(self.path).query)))
        status, answer = self.server.telegram.handle(method, params, files)
        self._answer(status, answer)

    do_POST = _handle
    do_GET = _handle


@contextmanager
def serve(telegram: FakeTelegram, token: str, port: int = 0) -> Iterator[FakeBotServer]:
    """Run the emulator in a background thread for the duration of the block."""
    server = FakeBotServer(telegram, token, port)
    thread = threading.Thread(target=server.serve_forever, name="fake-bot-api", daemon=True)
    thread.start()
    try:
        yield server
    finally:
        server.shutdown()
        server.server_close()


def main() -> None:  # pragma: no cover - manual use
    parser = argparse.ArgumentParser(description="local Bot API emulator on 127.0.0.1")
    parser.add_argument("--port", type=int, default=8081)
    parser.add_argument("--token", default="123:fake")
    parser.add_argument("--rate", type=float, default=None, help="messages per second cap")
    args = parser.parse_args()
    with serve(FakeTelegram(messages_per_second=args.rate), args.token, args.port) as server:
        print(f"fake Bot API at {server.base_url}{args.token}/ (Ctrl-C to stop)", flush=True)
        threading.Event().wait()


if __name__ == "__main__":  # pragma: no cover
    main()
