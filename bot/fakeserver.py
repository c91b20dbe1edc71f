"""A local Bot API emulator over HTTP on 127.0.0.1, for end-to-end tests and benches.

It serves a :class:`bot.fakebot.FakeTelegram` the way PTB 22's ``HTTPXRequest``
talks to Telegram: ``POST`` (or ``GET``) ``/bot<token>/<method>`` with a JSON,
form-encoded or multipart body (query-string parameters too), long polling
``getUpdates`` with ``timeout`` and ``offset`` (updates below the offset are
confirmed and dropped, the others are delivered again), 429 with
``parameters.retry_after`` beyond the configured messages per second, 401 for a
wrong token and 404 for any other path.

Telegram misbehaving, on purpose (:class:`Faults`, ``server.faults``; the fault
tests in ``tests/faults/`` use every one): an outage answering 500 (or any status)
for a while, a while of timeouts (requests held unanswered, never processed), the
next N requests dropped (connection closed before Telegram saw them) or the next N
responses dropped (the message *was* delivered, the answer is lost: the bot cannot
tell it from a timeout). They apply to the sending methods unless told otherwise.
With ``FakeTelegram(conflicts=True)`` a second concurrent long poll ends the first
with 409 Conflict, and ``blocked_chats`` answer 403.

Three extra routes, outside ``/bot…``, let a person or a script act as users of a
standalone emulator: ``POST /_emulator/updates`` queues an update (a full payload,
or ``{"user_id": 1, "text": "/help"}``), ``GET /_emulator/sent`` lists what the
bot sent, and ``POST /_emulator/faults`` sets faults (``{"outage_seconds": 30,
"status": 500, "timeout_seconds": 10, "drop_requests": 3, "drop_responses": 3,
"hang_seconds": 6, "blocked": [42]}``; any subset) and answers the fault counters.

Webhooks: ``setWebhook`` is recorded (``FakeTelegram.webhook_calls``; while one is
set ``getUpdates`` answers 409, as Telegram does), and :meth:`FakeBotServer.post_update`
POSTs an update to the registered URL with the ``X-Telegram-Bot-Api-Secret-Token``
header, the way Telegram delivers it. Only URLs on 127.0.0.1 or localhost are ever
called. While a webhook is set, ``POST /_emulator/updates`` delivers that way too.

In tests and benches::

    telegram = FakeTelegram()
    with serve(telegram, "123:token") as base_url:   # "http://127.0.0.1:PORT/bot"
        ...  # point TELEGRAM_BASE_URL at base_url

Standalone: ``python -m bot.fakeserver --port 0 --token 123:fake [--rate 30]
[--retry-after 1] [--conflicts]`` prints the port it listens on, then serves until Ctrl-C.
"""

from __future__ import annotations

import argparse
import json
import signal
import sys
import threading
import time
import urllib.error
import urllib.request
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from email.parser import BytesParser
from email.policy import HTTP
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl, urlsplit

from bot.fakebot import MESSAGE_METHODS, FakeTelegram, FakeUser

__all__ = ["FakeBotServer", "Faults", "serve", "parse_body", "post_update"]

HOST = "127.0.0.1"  # never anything else: the emulator accepts any caller
EMULATOR_PREFIX = "/_emulator/"
LOCAL_HOSTS = frozenset({"127.0.0.1", "localhost"})  # the only webhook targets ever called
SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"
_UNSET: Any = object()


def post_update(url: str, update: dict[str, Any], *, secret: str | None,
                timeout: float = 30.0) -> tuple[int, bytes]:
    """POST ``update`` as JSON to a webhook on this machine; return ``(status, body)``.

    ``secret`` (if any) goes in Telegram's secret-token header. A URL on any other
    host is refused before anything is sent.
    """
    host = urlsplit(url).hostname
    if host not in LOCAL_HOSTS:
        raise ValueError(f"the emulator only calls webhooks on 127.0.0.1, not {host!r}")
    headers = {"Content-Type": "application/json"}
    if secret is not None:
        headers[SECRET_HEADER] = secret
    request = urllib.request.Request(url, data=json.dumps(update).encode("utf-8"),
                                     headers=headers, method="POST")
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:  # noqa: S310
            return int(response.status), response.read()
    except urllib.error.HTTPError as err:
        return int(err.code), err.read()


class BadRequest(ValueError):
    """A body the emulator cannot parse; answered with 400 like Telegram would."""


def parse_body(content_type: str, body: bytes) -> tuple[dict[str, Any], dict[str, bytes]]:
    """Split a request body into ``(parameters, files)``.

    PTB sends form-encoded bodies (each value JSON-encoded when it is not a
    plain string) and multipart/form-data when a file is attached; other
    clients send JSON. File parts (those with a filename) go to ``files``.
    """
    if not body:
        return {}, {}
    kind = content_type.split(";", 1)[0].strip().lower()
    try:
        if kind == "application/json":
            params = json.loads(body)
            if not isinstance(params, dict):
                raise BadRequest("a JSON body must be an object")
            return params, {}
        if kind == "multipart/form-data":
            return _parse_multipart(content_type, body)
        return dict(parse_qsl(body.decode("utf-8"), keep_blank_values=True)), {}
    except (UnicodeDecodeError, json.JSONDecodeError) as err:
        raise BadRequest(str(err)) from err


def _parse_multipart(content_type: str, body: bytes) -> tuple[dict[str, Any], dict[str, bytes]]:
    message = BytesParser(policy=HTTP).parsebytes(
        b"Content-Type: " + content_type.encode("latin-1") + b"\r\n\r\n" + body)
    if not message.is_multipart():
        raise BadRequest("multipart body without parts")
    params: dict[str, Any] = {}
    files: dict[str, bytes] = {}
    for part in message.iter_parts():
        name = part.get_param("name", header="content-disposition")
        if not name:
            continue
        payload = part.get_payload(decode=True)
        data = payload if isinstance(payload, bytes) else b""
        if part.get_filename() is not None:
            files[str(name)] = data
        else:
            params[str(name)] = data.decode(part.get_content_charset() or "utf-8")
    return params, files


@dataclass
class Faults:
    """What goes wrong between the bot and Telegram; change it while the server runs.

    ``counts`` says what happened: ``outage`` (answered ``status``), ``timeout`` and
    ``dropped_request`` (never processed), ``dropped_response`` (processed, answer lost).
    """

    methods: frozenset[str] = frozenset(MESSAGE_METHODS)  # which calls the faults hit
    status: int = 500
    outage_until: float = 0.0    # time.monotonic() deadlines
    timeout_until: float = 0.0
    drop_requests: int = 0
    drop_responses: int = 0
    # how long a request that gets no answer is held before its connection is closed:
    # 0 looks like a reset connection to the bot, more than its read timeout like a timeout
    hang_seconds: float = 0.0
    counts: Counter[str] = field(default_factory=Counter)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def outage(self, seconds: float, status: int = 500) -> None:
        """Answer every call ``status`` for ``seconds`` from now."""
        with self._lock:
            self.status, self.outage_until = status, time.monotonic() + seconds

    def timeouts(self, seconds: float, hang: float | None = None) -> None:
        """For ``seconds``, hold calls unanswered (``hang`` each) and drop them unprocessed."""
        with self._lock:
            self.timeout_until = time.monotonic() + seconds
            if hang is not None:
                self.hang_seconds = hang

    def clear(self) -> None:
        with self._lock:
            self.outage_until = self.timeout_until = 0.0
            self.drop_requests = self.drop_responses = 0

    def before(self, method: str) -> str | None:
        """What happens to this call before Telegram processes it (None: nothing)."""
        if method not in self.methods:
            return None
        with self._lock:
            now = time.monotonic()
            if now < self.outage_until:
                verdict = "outage"
            elif now < self.timeout_until:
                verdict = "timeout"
            elif self.drop_requests > 0:
                self.drop_requests -= 1
                verdict = "dropped_request"
            else:
                return None
            self.counts[verdict] += 1
            return verdict

    def lose_answer(self, method: str) -> bool:
        """Processed, but is the answer lost on the way back?"""
        if method not in self.methods:
            return False
        with self._lock:
            if self.drop_responses <= 0:
                return False
            self.drop_responses -= 1
            self.counts["dropped_response"] += 1
            return True

    def configure(self, spec: dict[str, Any], telegram: FakeTelegram) -> None:
        """Apply a ``POST /_emulator/faults`` body (see the module docstring)."""
        if "hang_seconds" in spec:
            self.hang_seconds = float(spec["hang_seconds"])
        if "outage_seconds" in spec:
            self.outage(float(spec["outage_seconds"]), int(spec.get("status", 500)))
        if "timeout_seconds" in spec:
            self.timeouts(float(spec["timeout_seconds"]))
        with self._lock:
            self.drop_requests += int(spec.get("drop_requests", 0))
            self.drop_responses += int(spec.get("drop_responses", 0))
        for chat_id in spec.get("blocked", []):
            telegram.blocked_chats.add(int(chat_id))
        if "rate" in spec:
            telegram.messages_per_second = float(spec["rate"]) or None


class FakeBotServer(ThreadingHTTPServer):
    """A threaded HTTP server answering Bot API calls from one :class:`FakeTelegram`."""

    daemon_threads = True
    block_on_close = False  # a long poll from a killed bot must not hold up shutdown
    request_queue_size = 256  # a broadcasting bot opens many connections at once

    def __init__(self, telegram: FakeTelegram, token: str, port: int = 0) -> None:
        if not token:
            raise ValueError("the emulator needs a bot token to check requests against")
        self.telegram = telegram
        self.token = token
        self.faults = Faults()
        self._thread: threading.Thread | None = None
        super().__init__((HOST, port), _Handler)

    @property
    def port(self) -> int:
        return int(self.server_address[1])

    @property
    def base_url(self) -> str:
        """The value for ``TELEGRAM_BASE_URL`` (PTB appends the token)."""
        return f"http://{HOST}:{self.port}/bot"

    def start(self) -> str:
        """Serve in a daemon thread; return :attr:`base_url`."""
        self._thread = threading.Thread(target=self.serve_forever, name="fake-bot-api",
                                        daemon=True)
        self._thread.start()
        return self.base_url

    def stop(self) -> None:
        if self._thread is not None:
            self.shutdown()
            self._thread.join(timeout=5)
            self._thread = None
        self.server_close()

    def post_update(self, payload: dict[str, Any], *, secret: str | None = _UNSET,
                    timeout: float = 30.0) -> tuple[int, dict[str, Any]]:
        """Deliver ``payload`` (numbered here) to the webhook set by the bot.

        ``secret`` defaults to the one given to ``setWebhook``; pass another (or None
        for no header) to act as a stranger. Returns ``(http_status, update)``.
        """
        url = self.telegram.webhook_url
        if not url:
            raise RuntimeError("no webhook is set (the bot has not called setWebhook)")
        update = self.telegram.number_update(payload)
        chosen = self.telegram.webhook_secret if secret is _UNSET else secret
        status, _ = post_update(url, update, secret=chosen, timeout=timeout)
        return status, update

    def handle_error(self, request: Any, client_address: Any) -> None:
        # a client that went away (a cancelled long poll, a killed bot) is normal here
        if isinstance(sys.exc_info()[1], ConnectionError | TimeoutError):
            return
        super().handle_error(request, client_address)


class _Handler(BaseHTTPRequestHandler):
    server: FakeBotServer
    protocol_version = "HTTP/1.1"  # keep-alive, as Telegram's servers and httpx do

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - stdlib name
        return None  # request lines carry the token

    def do_GET(self) -> None:  # noqa: N802 - stdlib name
        self._dispatch()

    def do_POST(self) -> None:  # noqa: N802 - stdlib name
        self._dispatch()

    def _dispatch(self) -> None:
        url = urlsplit(self.path)
        body = self._read_body()
        if url.path.startswith(EMULATOR_PREFIX):
            self._emulator(url.path[len(EMULATOR_PREFIX):], body)
            return
        head, _, method = url.path.rpartition("/")
        if not head.startswith("/bot") or not method:
            self._answer(404, _error(404, "Not Found"))
            return
        if head[len("/bot"):] != self.server.token:
            self._answer(401, _error(401, "Unauthorized"))
            return
        try:
            params, files = parse_body(self.headers.get("Content-Type", ""), body)
        except BadRequest as err:
            self._answer(400, _error(400, f"Bad Request: {err}"))
            return
        params = {**dict(parse_qsl(url.query, keep_blank_values=True)), **params}
        faults = self.server.faults
        verdict = faults.before(method)
        if verdict == "outage":
            self._answer(faults.status, _error(faults.status, "Internal Server Error"
                                               if faults.status == 500 else "Bad Gateway"))
            return
        if verdict is not None:  # a timeout or a dropped request: Telegram never saw it
            self._hang_up(faults.hang_seconds)
            return
        status, answer = self.server.telegram.handle(method, params, files)
        if faults.lose_answer(method):  # delivered, but the bot never hears so
            self._hang_up(faults.hang_seconds)
            return
        self._answer(status, answer)

    def _hang_up(self, after: float) -> None:
        """Close the connection without an answer, after holding it ``after`` seconds."""
        if after > 0:
            time.sleep(after)
        self.close_connection = True

    def _emulator(self, route: str, body: bytes) -> None:
        telegram = self.server.telegram
        if route == "sent" and self.command == "GET":
            sent = [asdict(m) | {"files": sorted(m.files)} for m in list(telegram.sent)]
            self._answer(200, {"ok": True, "result": sent})
        elif route == "updates" and self.command == "POST":
            try:
                payload, _ = parse_body("application/json", body)
            except BadRequest as err:
                self._answer(400, _error(400, str(err)))
                return
            if "text" in payload and "user_id" in payload:
                user = FakeUser(int(payload["user_id"]), str(payload.get("first_name", "Tester")),
                                language_code=payload.get("language_code", "zh-hans"))
                payload = telegram.message_update(user, str(payload["text"]))
            if telegram.webhook_url:
                status, update = self.server.post_update(payload)
                self._answer(200, {"ok": True, "result": update, "webhook_status": status})
                return
            self._answer(200, {"ok": True, "result": telegram.push_update(payload)})
        elif route == "faults" and self.command == "POST":
            try:
                spec, _ = parse_body("application/json", body)
                self.server.faults.configure(spec, telegram)
            except (BadRequest, TypeError, ValueError) as err:
                self._answer(400, _error(400, f"Bad Request: {err}"))
                return
            self._answer(200, {"ok": True, "result": dict(self.server.faults.counts)})
        else:
            self._answer(404, _error(404, "Not Found"))

    def _read_body(self) -> bytes:
        if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
            chunks: list[bytes] = []
            while True:
                size = int(self.rfile.readline().split(b";", 1)[0].strip() or b"0", 16)
                if size == 0:
                    while self.rfile.readline() not in (b"\r\n", b"\n", b""):
                        pass  # trailers
                    return b"".join(chunks)
                chunks.append(self.rfile.read(size))
                self.rfile.readline()  # the CRLF after each chunk
        length = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(length) if length > 0 else b""

    def _answer(self, status: int, body: dict[str, Any]) -> None:
        data = json.dumps(body, ensure_ascii=False).encode("utf-8")
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)


def _error(status: int, description: str) -> dict[str, Any]:
    return {"ok": False, "error_code": status, "description": description}


@contextmanager
def serve(telegram: FakeTelegram, token: str, port: int = 0) -> Iterator[str]:
    """Serve ``telegram`` on 127.0.0.1 for the duration of the block; yield the base URL."""
    server = FakeBotServer(telegram, token, port)
    base_url = server.start()
    try:
        yield base_url
    finally:
        server.stop()


def _interrupt(signum: int, frame: object) -> None:
    raise KeyboardInterrupt


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bot.fakeserver",
                                     description="Bot API emulator on 127.0.0.1")
    parser.add_argument("--port", type=int, default=0, help="0 picks a free port (default)")
    parser.add_argument("--token", default="123:fake", help="the only token accepted")
    parser.add_argument("--rate", type=float, default=None,
                        help="messages per second before answering 429")
    parser.add_argument("--retry-after", type=int, default=1,
                        help="seconds a 429 asks the bot to wait (default 1)")
    parser.add_argument("--conflicts", action="store_true",
                        help="a second concurrent getUpdates ends the first with 409")
    args = parser.parse_args(argv)
    telegram = FakeTelegram(messages_per_second=args.rate, retry_after=args.retry_after,
                            conflicts=args.conflicts)
    server = FakeBotServer(telegram, args.token, args.port)
    for signum in (signal.SIGINT, signal.SIGTERM):  # also when started in the background
        signal.signal(signum, _interrupt)
    print(server.port, flush=True)
    print(f"TELEGRAM_BASE_URL={server.base_url}  (Ctrl-C to stop)", file=sys.stderr, flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()
    return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
