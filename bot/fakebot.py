"""An in-memory Telegram Bot API, used by ``coach console``, tests and benches.

:class:`FakeTelegram` keeps the state a real Bot API server would: the bot's
identity, an update queue with offsets (unconfirmed updates are delivered
again), the messages the bot sent, and failure modes (blocked chats → 403, a
messages-per-second cap → 429 with ``retry_after``, and with ``conflicts`` a 409 to a
long poll superseded by another ``getUpdates``, as when two bots share a token).
It is as strict as Telegram (``bot/botapi_rules.py``): bad HTML, text over 4,096
or captions over 1,024 characters after parsing, callback data over 64 bytes, long
callback answers and bad inline results get the same 400 Telegram would send, and
are listed in ``refused``.
:class:`FakeRequest` plugs it into python-telegram-bot as a request class, so the
real ``Application``, ``Bot`` and handlers run unchanged; ``bot/fakeserver.py``
serves the same state over HTTP for end-to-end tests of ``coach run``.
"""

from __future__ import annotations

import asyncio
import json
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from telegram.request import BaseRequest, RequestData

from bot import botapi_rules

__all__ = ["Conflict", "FakeTelegram", "FakeRequest", "FakeUser", "SentMessage"]

BOT_ID = 7000000001
MESSAGE_METHODS = {"sendMessage", "sendPhoto", "sendDocument"}


class Conflict(Exception):
    """A long poll ended by a newer ``getUpdates`` (Telegram answers it 409)."""


@dataclass(frozen=True)
class FakeUser:
    """A person talking to the bot in a private chat."""

    id: int
    first_name: str = "Tester"
    username: str | None = None
    language_code: str | None = "zh-hans"

    def as_dict(self) -> dict[str, Any]:
        data: dict[str, Any] = {"id": self.id, "is_bot": False, "first_name": self.first_name}
        if self.username:
            data["username"] = self.username
        if self.language_code:
            data["language_code"] = self.language_code
        return data


@dataclass
class SentMessage:
    """One call the bot made that shows something to a person."""

    method: str
    chat_id: int
    message_id: int
    text: str
    reply_markup: dict[str, Any] | None
    params: dict[str, Any]
    files: dict[str, bytes] = field(default_factory=dict)

    @property
    def buttons(self) -> list[tuple[str, str]]:
        """``(label, callback_data or url)`` of every inline button, row by row."""
        if not self.reply_markup:
            return []
        return [
            (b["text"], b.get("callback_data") or b.get("url") or "")
            for row in self.reply_markup.get("inline_keyboard", [])
            for b in row
        ]


class FakeTelegram:
    """Thread-safe state of a fake Bot API server."""

    def __init__(
        self,
        *,
        username: str = "AdvisorCoachBot",
        messages_per_second: float | None = None,
        clock: Callable[[], float] = time.monotonic,
        first_update_id: int = 1,
        strict: bool = True,
        retry_after: int = 1,
        conflicts: bool = False,
    ) -> None:
        self.username = username
        self.messages_per_second = messages_per_second
        self.retry_after = retry_after  # seconds a 429 beyond the rate asks the bot to wait
        # Telegram allows one long poll per token: a newer getUpdates ends the older with 409
        self.conflicts = conflicts
        self._poll_generation = 0
        self.conflicted = 0
        self._clock = clock
        self._lock = threading.Condition()
        self._updates: list[dict[str, Any]] = []
        self._next_update_id = first_update_id
        self._next_message_id = 1
        self._tokens = float(messages_per_second or 0)
        self._refilled = clock()
        self.sent: list[SentMessage] = []
        self.calls: list[tuple[str, dict[str, Any]]] = []
        self.answers: list[dict[str, Any]] = []
        self.blocked_chats: set[int] = set()
        self.failures: dict[int, list[tuple[int, dict[str, Any]]]] = {}
        self.throttled = 0
        self.strict = strict
        self.refused: list[tuple[str, str]] = []  # (method, description) Telegram would refuse
        # setWebhook: where updates go instead of getUpdates (None: long polling)
        self.webhook_url: str | None = None
        self.webhook_secret: str | None = None
        self.webhook_calls: list[dict[str, Any]] = []  # every setWebhook, as sent

    # --- what people do -------------------------------------------------------

    def push_update(self, payload: dict[str, Any]) -> dict[str, Any]:
        """Queue an update (without ``update_id``; one is assigned) and return it."""
        with self._lock:
            update = self.number_update(payload)
            self._updates.append(update)
            self._lock.notify_all()
            return update

    def number_update(self, payload: dict[str, Any]) -> dict[str, Any]:
        """``payload`` with the next ``update_id``, not queued (a webhook delivery)."""
        with self._lock:
            update = {"update_id": self._next_update_id, **payload}
            self._next_update_id += 1
            return update

    def message_update(self, user: FakeUser, text: str, *, chat_id: int | None = None,
                       chat_type: str = "private") -> dict[str, Any]:
        """Build (not queue) an update for a text message from ``user``."""
        chat_id = user.id if chat_id is None else chat_id
        message: dict[str, Any] = {
            "message_id": self._take_message_id(),
            "date": int(time.time()),
            "chat": {"id": chat_id, "type": chat_type, "first_name": user.first_name}
            if chat_type == "private" else {"id": chat_id, "type": chat_type, "title": "Team"},
            "from": user.as_dict(),
            "text": text,
        }
        if text.startswith("/"):
            command = text.split()[0]
            message["entities"] = [{"type": "bot_command", "offset": 0, "length": len(command)}]
        return {"message": message}

    def callback_update(self, user: FakeUser, message: SentMessage, data: str) -> dict[str, Any]:
        """Build an update for ``user`` pressing a button of ``message``."""
        return {
            "callback_query": {
                "id": str(self._take_message_id()),
                "from": user.as_dict(),
                "chat_instance": str(message.chat_id),
                "data": data,
                "message": self._message_dict(message),
            }
        }

    def inline_update(self, user: FakeUser, query: str) -> dict[str, Any]:
        return {
            "inline_query": {
                "id": str(self._take_message_id()),
                "from": user.as_dict(),
                "query": query,
                "offset": "",
            }
        }

    def fail_next(self, chat_id: int, status: int, **body: Any) -> None:
        """Make the next send to ``chat_id`` fail with ``status`` (e.g. 429 or 500)."""
        with self._lock:
            self.failures.setdefault(chat_id, []).append((status, body))

    def messages_to(self, chat_id: int) -> list[SentMessage]:
        with self._lock:
            return [m for m in self.sent if m.chat_id == chat_id]

    # --- the Bot API ----------------------------------------------------------

    def handle(self, method: str, params: dict[str, Any],
               files: dict[str, bytes] | None = None) -> tuple[int, dict[str, Any]]:
        """Answer one Bot API call: ``(http_status, json_body)``."""
        with self._lock:
            self.calls.append((method, params))
        refused = botapi_rules.check(method, params) if self.strict else None
        if refused is not None:  # what Telegram would answer: nothing is sent
            with self._lock:
                self.refused.append((method, refused))
            return 400, {"ok": False, "error_code": 400, "description": refused}
        handler = getattr(self, f"_api_{method}", None)
        if handler is not None:
            result: tuple[int, dict[str, Any]] = handler(params)
            return result
        if method in MESSAGE_METHODS:
            return self._send(method, params, files or {})
        if method in ("editMessageText", "editMessageReplyMarkup", "editMessageCaption"):
            return self._edit(method, params)
        return 200, {"ok": True, "result": True}

    def wait_for_updates(self, offset: int, timeout: float) -> list[dict[str, Any]]:
        """Long polling: confirm everything below ``offset``, wait for the rest.

        With ``conflicts`` on, a newer call ends this one early with :class:`Conflict`.
        """
        deadline = self._clock() + timeout
        with self._lock:
            self._poll_generation += 1
            mine = self._poll_generation
            self._lock.notify_all()  # wake the poll this one supersedes
            if offset:
                self._updates = [u for u in self._updates if u["update_id"] >= offset]
            while not self._updates and self._clock() < deadline:
                if self.conflicts and self._poll_generation != mine:
                    self.conflicted += 1
                    raise Conflict("terminated by other getUpdates request")
                self._lock.wait(timeout=min(0.5, max(0.0, deadline - self._clock())))
            return list(self._updates[:100])

    def pending_updates(self) -> int:
        with self._lock:
            return len(self._updates)

    def _api_getMe(self, _params: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        return 200, {"ok": True, "result": {
            "id": BOT_ID, "is_bot": True, "first_name": "Advisor Coach",
            "username": self.username, "can_join_groups": True,
            "can_read_all_group_messages": False, "supports_inline_queries": True,
        }}

    def _api_setWebhook(self, params: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        url = str(params.get("url") or "")
        with self._lock:
            self.webhook_calls.append(dict(params))
            self.webhook_url = url or None
            self.webhook_secret = str(params.get("secret_token") or "") or None
            if _truthy(params.get("drop_pending_updates")):
                self._updates.clear()
        return 200, {"ok": True, "result": True, "description": "Webhook was set"}

    def _api_deleteWebhook(self, params: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        with self._lock:
            self.webhook_url = self.webhook_secret = None
            if _truthy(params.get("drop_pending_updates")):
                self._updates.clear()
        return 200, {"ok": True, "result": True}

    def _api_getWebhookInfo(self, _params: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        with self._lock:
            return 200, {"ok": True, "result": {
                "url": self.webhook_url or "", "has_custom_certificate": False,
                "pending_update_count": len(self._updates)}}

    def _api_getUpdates(self, params: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        if self.webhook_url:  # what Telegram answers a poller while a webhook is set
            return 409, {"ok": False, "error_code": 409, "description":
                         "Conflict: can't use getUpdates method while webhook is active; "
                         "use deleteWebhook to delete the webhook first"}
        offset = int(params.get("offset") or 0)
        timeout = float(params.get("timeout") or 0)
        try:
            return 200, {"ok": True, "result": self.wait_for_updates(offset, timeout)}
        except Conflict:
            return 409, {"ok": False, "error_code": 409, "description":
                         "Conflict: terminated by other getUpdates request; make sure that "
                         "only one bot instance is running"}

    def _api_answerInlineQuery(self, params: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        with self._lock:
            self.answers.append(params)
        return 200, {"ok": True, "result": True}

    def _send(self, method: str, params: dict[str, Any],
              files: dict[str, bytes]) -> tuple[int, dict[str, Any]]:
        chat_id = int(params["chat_id"])
        with self._lock:
            failure = self._failure_for(chat_id)
            if failure is not None:
                return failure
            text = str(params.get("text") or params.get("caption") or "")
            markup = params.get("reply_markup")
            if isinstance(markup, str):
                markup = json.loads(markup)
            sent = SentMessage(method, chat_id, self._take_message_id(), text, markup,
                               dict(params), dict(files))
            self.sent.append(sent)
            return 200, {"ok": True, "result": self._message_dict(sent)}

    def _edit(self, method: str, params: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        with self._lock:
            target = next((m for m in reversed(self.sent)
                           if m.message_id == int(params.get("message_id") or 0)), None)
            if target is None:
                return 400, {"ok": False, "error_code": 400,
                             "description": "Bad Request: message to edit not found"}
            markup = params.get("reply_markup")
            if isinstance(markup, str):
                markup = json.loads(markup)
            if method == "editMessageText":
                target.text = str(params.get("text", target.text))
            target.reply_markup = markup
            target.params = {**target.params, **params}
            edited = SentMessage(method, target.chat_id, target.message_id, target.text,
                                 markup, dict(params))
            self.sent.append(edited)
            return 200, {"ok": True, "result": self._message_dict(target)}

    def _failure_for(self, chat_id: int) -> tuple[int, dict[str, Any]] | None:
        queued = self.failures.get(chat_id)
        if queued:
            status, body = queued.pop(0)
            return status, {"ok": False, "error_code": status,
                            "description": body.pop("description", "Injected failure"), **body}
        if chat_id in self.blocked_chats:
            return 403, {"ok": False, "error_code": 403,
                         "description": "Forbidden: bot was blocked by the user"}
        if self.messages_per_second:
            # a token bucket: N messages per second on average, a burst of at most N
            now = self._clock()
            rate = self.messages_per_second
            self._tokens = min(rate, self._tokens + (now - self._refilled) * rate)
            self._refilled = now
            if self._tokens < 1:
                self.throttled += 1
                wait = self.retry_after
                return 429, {"ok": False, "error_code": 429,
                             "description": f"Too Many Requests: retry after {wait}",
                             "parameters": {"retry_after": wait}}
            self._tokens -= 1
        return None

    def _take_message_id(self) -> int:
        with self._lock:
            value = self._next_message_id
            self._next_message_id += 1
            return value

    def _message_dict(self, sent: SentMessage) -> dict[str, Any]:
        data: dict[str, Any] = {
            "message_id": sent.message_id,
            "date": int(time.time()),
            "chat": {"id": sent.chat_id, "type": "private" if sent.chat_id > 0 else "group"},
            "from": {"id": BOT_ID, "is_bot": True, "first_name": "Advisor Coach",
                     "username": self.username},
        }
        if sent.method == "sendMessage" or sent.method.startswith("edit"):
            data["text"] = sent.text
        elif sent.method == "sendDocument":
            data["document"] = {"file_id": f"doc{sent.message_id}", "file_unique_id": "u"}
            data["caption"] = sent.text
        elif sent.method == "sendPhoto":
            data["photo"] = [{"file_id": f"ph{sent.message_id}", "file_unique_id": "u",
                              "width": 1, "height": 1}]
            data["caption"] = sent.text
        if sent.reply_markup:
            data["reply_markup"] = sent.reply_markup
        return data


def _truthy(value: Any) -> bool:
    """A Bot API boolean as PTB sends it (``True`` or the form value ``"true"``)."""
    return value is True or str(value).lower() == "true"


class FakeRequest(BaseRequest):
    """A PTB request class that answers from a :class:`FakeTelegram`, no network."""

    def __init__(self, telegram: FakeTelegram) -> None:
        self.telegram = telegram

    @property
    def read_timeout(self) -> float | None:
        return 1.0

    async def initialize(self) -> None:
        return None

    async def shutdown(self) -> None:
        return None

    async def do_request(self, url: str, method: str, request_data: RequestData | None = None,
                         read_timeout: Any = None, write_timeout: Any = None,
                         connect_timeout: Any = None, pool_timeout: Any = None,
                         ) -> tuple[int, bytes]:
        api_method = url.rsplit("/", 1)[-1]
        params: dict[str, Any] = dict(request_data.parameters) if request_data else {}
        files: dict[str, bytes] = {}
        if request_data is not None and request_data.contains_files:
            for name, part in request_data.multipart_data.items():
                content = part[1] if isinstance(part, tuple) else part
                files[name] = content if isinstance(content, bytes) else content.read()
        if api_method == "getUpdates":  # long polling blocks: keep it off the event loop
            status, body = await asyncio.to_thread(self.telegram.handle, api_method, params)
        else:
            status, body = self.telegram.handle(api_method, params, files)
        return status, json.dumps(body, ensure_ascii=False).encode()
