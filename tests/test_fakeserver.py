"""The HTTP Bot API emulator speaks the Bot API the way PTB 22 and plain clients call it."""

from __future__ import annotations

import json
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from typing import Any

import pytest
from telegram import Bot, InlineKeyboardButton, InlineKeyboardMarkup
from telegram.error import InvalidToken, RetryAfter
from telegram.request import HTTPXRequest

from bot.fakebot import FakeTelegram, FakeUser
from bot.fakeserver import FakeBotServer, parse_body, serve

TOKEN = "555:fakeserver-test"
USER = FakeUser(4242, "Li")


@pytest.fixture
def telegram() -> FakeTelegram:
    return FakeTelegram()


@pytest.fixture
def base_url(telegram: FakeTelegram) -> Iterator[str]:
    with serve(telegram, TOKEN) as url:
        yield url


def _call(url: str, *, data: bytes | None = None,
          content_type: str = "application/json") -> tuple[int, dict[str, Any]]:
    request = urllib.request.Request(url, data=data, headers={"Content-Type": content_type})
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as err:
        return err.code, json.loads(err.read())


def _bot(base_url: str, token: str = TOKEN) -> Bot:
    return Bot(token, base_url=base_url, request=HTTPXRequest(),
               get_updates_request=HTTPXRequest(read_timeout=10))


def test_listens_on_loopback_only(telegram: FakeTelegram) -> None:
    server = FakeBotServer(telegram, TOKEN)
    try:
        assert server.server_address[0] == "127.0.0.1"
        assert server.base_url == f"http://127.0.0.1:{server.port}/bot"
    finally:
        server.server_close()


def test_wrong_token_is_401_and_unknown_path_404(base_url: str) -> None:
    root = base_url.removesuffix("/bot")
    assert _call(f"{base_url}nope/getMe")[0] == 401
    status, body = _call(f"{base_url}{TOKEN}/getMe")
    assert status == 200 and body["result"]["is_bot"] is True
    assert _call(f"{root}/favicon.ico")[0] == 404


def test_json_form_and_query_bodies(base_url: str, telegram: FakeTelegram) -> None:
    url = f"{base_url}{TOKEN}/sendMessage"
    assert _call(url, data=json.dumps({"chat_id": 1, "text": "json 你好"}).encode())[0] == 200
    assert _call(url, data=b"chat_id=2&text=form+%E4%BD%A0%E5%A5%BD",
                 content_type="application/x-www-form-urlencoded")[0] == 200
    assert _call(f"{url}?chat_id=3&text=query")[0] == 200
    assert _call(url, data=b"{not json")[0] == 400
    assert [(m.chat_id, m.text) for m in telegram.sent] == [
        (1, "json 你好"), (2, "form 你好"), (3, "query")]


def test_multipart_keeps_file_bytes_exactly() -> None:
    blob = bytes(range(256)) + b"\r\n--not-a-boundary\r\n\n\r"
    boundary = "XyZ123"
    body = (f"--{boundary}\r\nContent-Disposition: form-data; name=\"chat_id\"\r\n\r\n7\r\n"
            f"--{boundary}\r\nContent-Disposition: form-data; name=\"caption\"\r\n\r\n"
            "周报\r\n"
            f"--{boundary}\r\nContent-Disposition: form-data; name=\"document\"; "
            "filename=\"r.xlsx\"\r\nContent-Type: application/octet-stream\r\n\r\n").encode()
    body += blob + f"\r\n--{boundary}--\r\n".encode()
    params, files = parse_body(f"multipart/form-data; boundary={boundary}", body)
    assert params == {"chat_id": "7", "caption": "周报"}
    assert files == {"document": blob}


async def test_ptb_client_round_trip(base_url: str, telegram: FakeTelegram) -> None:
    """The real PTB Bot with HTTPXRequest: getMe, messages, a document, long polling."""
    async with _bot(base_url) as bot:
        assert bot.username == telegram.username
        await bot.send_message(USER.id, "<b>hi</b>", parse_mode="HTML",
                               reply_markup=InlineKeyboardMarkup.from_button(
                                   InlineKeyboardButton("OK", callback_data="ok 1")))
        await bot.send_document(USER.id, document=b"\x00PK\x03\x04 data", filename="a.xlsx",
                                caption="报表")
        assert [m.buttons for m in telegram.sent] == [[("OK", "ok 1")], []]
        assert telegram.sent[1].files == {"document": b"\x00PK\x03\x04 data"}
        assert telegram.sent[1].text == "报表"

        first = telegram.push_update(telegram.message_update(USER, "/help"))["update_id"]
        updates = await bot.get_updates(offset=0, timeout=5)
        assert [u.update_id for u in updates] == [first]
        # not confirmed yet: delivered again
        assert [u.update_id for u in await bot.get_updates(timeout=0)] == [first]
        # a later update arriving during a long poll ends the wait early
        timer = threading.Timer(0.2, lambda: telegram.push_update(
            telegram.message_update(USER, "/today")))
        timer.start()
        started = time.monotonic()
        updates = await bot.get_updates(offset=first + 1, timeout=5)
        assert time.monotonic() - started < 3
        assert [u.message.text for u in updates if u.message] == ["/today"]
        await bot.get_updates(offset=updates[-1].update_id + 1, timeout=0)
        assert telegram.pending_updates() == 0


async def test_ptb_sees_wrong_token_and_429() -> None:
    telegram = FakeTelegram(messages_per_second=1)
    with serve(telegram, TOKEN) as base_url:
        with pytest.raises(InvalidToken):
            async with _bot(base_url, token="1:wrong"):
                pass
        async with _bot(base_url) as bot:
            await bot.send_message(USER.id, "one")
            with pytest.raises(RetryAfter) as caught:
                await bot.send_message(USER.id, "two")
    retry = caught.value.retry_after  # int in PTB 22, a timedelta in later versions
    assert (retry if isinstance(retry, int | float) else retry.total_seconds()) == 1
    assert [m.text for m in telegram.sent] == ["one"]


def test_emulator_routes_queue_updates_and_list_sent(base_url: str,
                                                     telegram: FakeTelegram) -> None:
    root = base_url.removesuffix("/bot")
    status, body = _call(f"{root}/_emulator/updates",
                         data=json.dumps({"user_id": 9, "text": "/start"}).encode())
    assert status == 200 and body["result"]["message"]["from"]["id"] == 9
    assert telegram.pending_updates() == 1
    _call(f"{base_url}{TOKEN}/sendMessage", data=json.dumps({"chat_id": 9, "text": "hey"}).encode())
    status, body = _call(f"{root}/_emulator/sent")
    assert [m["text"] for m in body["result"]] == ["hey"]


async def test_faults_outage_timeouts_and_dropped_requests_and_answers() -> None:
    """The knobs the fault tests use, seen by the real PTB client."""
    from telegram.error import NetworkError, TimedOut

    telegram = FakeTelegram()
    server = FakeBotServer(telegram, TOKEN)
    base_url = server.start()
    try:
        async with _bot(base_url) as bot:
            server.faults.outage(30, status=500)
            with pytest.raises(NetworkError):
                await bot.send_message(USER.id, "during the outage")
            server.faults.clear()
            server.faults.drop_requests = 1
            with pytest.raises(NetworkError):
                await bot.send_message(USER.id, "never reaches Telegram")
            server.faults.drop_responses = 1
            with pytest.raises(NetworkError):
                await bot.send_message(USER.id, "delivered, answer lost")
            server.faults.timeouts(30, hang=1.5)
            with pytest.raises(TimedOut):
                await bot.send_message(USER.id, "held past the read timeout", read_timeout=0.5)
            server.faults.clear()
            await bot.send_message(USER.id, "fine again")
            assert bot.username == telegram.username  # getMe is never hit by default
    finally:
        server.stop()
    assert [m.text for m in telegram.sent] == ["delivered, answer lost", "fine again"]
    assert server.faults.counts == {"outage": 1, "dropped_request": 1, "dropped_response": 1,
                                    "timeout": 1}


def test_a_second_long_poll_ends_the_first_with_409() -> None:
    telegram = FakeTelegram(conflicts=True)
    first: dict[str, object] = {}

    def poll() -> None:
        first["answer"] = telegram.handle("getUpdates", {"timeout": 5})

    thread = threading.Thread(target=poll)
    thread.start()
    time.sleep(0.3)
    second = threading.Thread(target=lambda: telegram.handle("getUpdates", {"timeout": 1}))
    second.start()
    thread.join(5)
    second.join(5)
    status, body = first["answer"]  # type: ignore[misc]
    assert status == 409 and "terminated by other getUpdates" in body["description"]
    assert telegram.conflicted == 1


def test_emulator_faults_route(base_url: str, telegram: FakeTelegram) -> None:
    root = base_url.removesuffix("/bot")
    status, body = _call(f"{root}/_emulator/faults",
                         data=json.dumps({"blocked": [77], "drop_requests": 2,
                                          "rate": 5}).encode())
    assert status == 200 and body["ok"] is True
    assert telegram.blocked_chats == {77} and telegram.messages_per_second == 5
    assert _call(f"{root}/_emulator/faults", data=b'{"drop_requests": "x"}')[0] == 400
