"""LOG_FORMAT=json: one JSON object a line, with the update's id, handler and latency,
and the same redaction as text logs (the formatter only sees redacted records)."""

from __future__ import annotations

import io
import json
import logging
import sys
from collections.abc import Iterator
from typing import Any

import pytest

from bot import logcontext, logfilter
from bot.logcontext import JsonFormatter
from tests.conftest import BotHarness

# built at run time: no token-shaped literal sits in the repository
TOKEN = "7012345678" + ":" + "AAHk3vQeJsonLogTokenForTests_0123456789"
CLIENT = "欧阳青松"


@pytest.fixture
def json_lines() -> Iterator[io.StringIO]:
    """Redaction installed as ``coach run`` does, and a JSON handler on the root logger."""
    saved_factory, saved_hook = logging.getLogRecordFactory(), sys.excepthook
    root = logging.getLogger()
    saved_level = root.level
    logfilter._installed = False
    logfilter.add_secret(TOKEN)
    logfilter.install()
    logfilter.remember_names([CLIENT])
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(JsonFormatter())
    root.addHandler(handler)
    root.setLevel(logging.INFO)
    try:
        yield stream
    finally:
        root.removeHandler(handler)
        root.setLevel(saved_level)
        logging.setLogRecordFactory(saved_factory)
        sys.excepthook = saved_hook
        logfilter._installed = False


def _entries(stream: io.StringIO) -> list[dict[str, Any]]:
    return [json.loads(line) for line in stream.getvalue().splitlines() if line.strip()]


def test_each_line_is_one_redacted_json_object(json_lines: io.StringIO) -> None:
    update_token = logcontext.update_id.set(4242)
    handler_token = logcontext.handler.set("ask_text")
    try:
        logging.getLogger("coach.test").warning(
            "calling %s about %s on 13912345678 with %s", CLIENT, "a fund",
            f"https://api.telegram.org/bot{TOKEN}/sendMessage")
        try:
            raise RuntimeError(f"token {TOKEN} refused for {CLIENT}")
        except RuntimeError:
            logging.getLogger("telegram.ext.Application").exception("failed")
    finally:
        logcontext.handler.reset(handler_token)
        logcontext.update_id.reset(update_token)
    raw = json_lines.getvalue()
    assert TOKEN not in raw and CLIENT not in raw and "13912345678" not in raw
    first, second = _entries(json_lines)
    assert set(first) >= {"time", "level", "logger", "message", "update_id", "handler"}
    assert first["level"] == "WARNING" and first["logger"] == "coach.test"
    assert first["update_id"] == 4242 and first["handler"] == "ask_text"
    assert "<secret>" in first["message"] and "a fund" in first["message"]
    assert first["time"].endswith("+00:00")
    assert "RuntimeError" in second["exc"] and "<secret>" in second["exc"]


def test_a_record_made_without_the_factory_is_still_redacted() -> None:
    logfilter.add_secret(TOKEN)
    record = logging.LogRecord("x", logging.INFO, __file__, 1, "key %s", (TOKEN,), None)
    line = json.loads(JsonFormatter().format(record))
    assert TOKEN not in line["message"] and "<secret>" in line["message"]
    assert "update_id" not in line  # no update being handled here


async def test_the_update_line_carries_id_handler_and_latency(
        harness: BotHarness, json_lines: io.StringIO) -> None:
    advisor = harness.person("advisor")
    await harness.chat(advisor).send("/help")
    lines = [e for e in _entries(json_lines) if e["logger"] == "coach.updates"]
    assert len(lines) == 1
    line = lines[0]
    assert line["handler"] == "show_help"
    assert isinstance(line["update_id"], int)
    assert isinstance(line["latency_ms"], float) and line["latency_ms"] >= 0
    assert str(advisor.id) in line["message"]  # user ids stay readable


async def test_concurrent_updates_keep_their_own_handler_names(harness: BotHarness) -> None:
    """The handler name is per update (a context variable), not shared application state."""
    import asyncio

    seen: list[tuple[int | None, str | None]] = []
    update_log = logging.getLogger("coach.updates")

    class Catch(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            seen.append((logcontext.update_id.get(), getattr(record, "handler", None)))

    catcher = Catch()
    update_log.addHandler(catcher)
    saved = update_log.level
    update_log.setLevel(logging.INFO)
    try:
        a, b = harness.person("advisor"), harness.person("advisor")
        await asyncio.gather(harness.chat(a).send("/help"), harness.chat(b).send("/today"))
    finally:
        update_log.removeHandler(catcher)
        update_log.setLevel(saved)
    assert sorted(h or "" for _, h in seen) == ["show_help", "today"]
    assert all(u is not None for u, _ in seen)
