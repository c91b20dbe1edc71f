"""Issue 11.8: the bot token and new client names never reach any log output."""

from __future__ import annotations

import io
import logging
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from bot import logfilter
from bot.fakebot import FakeTelegram, FakeUser
from bot.fakeserver import serve
from coach.actor import Me
from coach.services.clients import ClientDraft, add_client
from tests import processes

# built at run time: no token-shaped literal sits in the repository
TOKEN = "7012345678" + ":" + "AAHk3vQeFakeTokenForTests_0123456789xyz"


@pytest.fixture
def redaction() -> Iterator[io.StringIO]:
    """Install redaction as ``coach run`` does, with a DEBUG handler added afterwards."""
    saved_factory, saved_hook = logging.getLogRecordFactory(), sys.excepthook
    root = logging.getLogger()
    saved_level = root.level
    logfilter._installed = False
    logfilter.add_secret(TOKEN)
    logfilter.install()
    stream = io.StringIO()
    late = logging.StreamHandler(stream)  # added after install: no filter of its own
    late.setFormatter(logging.Formatter("%(name)s %(levelname)s %(message)s"))
    root.addHandler(late)
    root.setLevel(logging.DEBUG)
    try:
        yield stream
    finally:
        root.removeHandler(late)
        root.setLevel(saved_level)
        logging.setLogRecordFactory(saved_factory)
        sys.excepthook = saved_hook
        logfilter._installed = False


def test_token_never_in_library_debug_logs(redaction: io.StringIO) -> None:
    url = f"https://api.telegram.org/bot{TOKEN}/getUpdates"
    logging.getLogger("httpx").debug("HTTP Request: POST %s \"HTTP/1.1 200 OK\"", url)
    logging.getLogger("telegram.ext.Updater").debug("Calling %s", url)
    logging.getLogger("httpcore.http11").debug("send_request_headers.started url=%r", url)
    other = "123456789" + ":" + "AAFOtherTokenShapedValue_abcdefghijklmnop"
    logging.getLogger("telegram._bot").debug("token=%s", other)
    try:
        raise RuntimeError(f"The token `{TOKEN}` was rejected by the server.")
    except RuntimeError:
        logging.getLogger("telegram.ext.Application").exception("error")
    out = redaction.getvalue()
    assert "getUpdates" in out and "was rejected" in out  # the lines are there ...
    assert TOKEN not in out and TOKEN.split(":")[1] not in out  # ... without the token
    assert other not in out


def test_uncaught_exception_is_redacted(capsys: pytest.CaptureFixture[str],
                                        redaction: io.StringIO) -> None:
    try:
        raise ValueError(f"bad {TOKEN}")
    except ValueError as err:
        sys.excepthook(type(err), err, err.__traceback__)
    assert "ValueError" in capsys.readouterr().err and TOKEN not in capsys.readouterr().err


def test_new_client_name_masked_immediately(services, redaction: io.StringIO) -> None:  # type: ignore[no-untyped-def]
    logfilter.attach_names(logfilter.client_names_from(services.db))
    try:
        logging.getLogger("coach.test").info("warm-up")  # reads the (empty) book now
        with services.db.session() as s:
            from tests import factories

            user = factories.user(s, role="advisor", now=services.clock.now())
            me = Me(user.id, user.telegram_id, user.name, "advisor", None, "zh-Hans",
                    "Asia/Shanghai")
            add_client(s, me, ClientDraft(name="欧阳晓梅", phone=None, tier="mass"), clock=services.clock,
                       thresholds=services.settings.tier_thresholds)
        logging.getLogger("sqlalchemy.engine").debug("INSERT clients name=%s", "欧阳晓梅")
        logging.getLogger("coach.test").debug("saved client 欧阳晓梅 and ouyang")
    finally:
        logfilter.attach_names(None)
    out = redaction.getvalue()
    assert "欧阳晓梅" not in out and "欧阳**" in out


def test_rejected_token_prints_no_token(tmp_path: Path) -> None:
    """``coach run`` with a wrong token at DEBUG: a clear message and no token anywhere."""
    with serve(FakeTelegram(), "4242:the-right-token-for-the-emulator") as base_url:
        env = {"TELEGRAM_BOT_TOKEN": TOKEN, "TELEGRAM_BASE_URL": base_url,
               "DATABASE_URL": f"sqlite:///{tmp_path / 'bot.db'}", "LOG_LEVEL": "DEBUG"}
        done = processes.run_coach(["run"], env=env, workdir=tmp_path, timeout=120)
    output = done.stdout + done.stderr
    assert done.returncode == 2, output
    assert "rejected TELEGRAM_BOT_TOKEN" in output
    assert TOKEN not in output and TOKEN.split(":")[1] not in output


def test_debug_run_never_prints_the_token(tmp_path: Path) -> None:
    """A real ``coach run`` at DEBUG answers a message; its whole output has no token.

    Without redaction PTB prints it at DEBUG ("Set Bot API URL: …/bot<token>").
    """
    telegram = FakeTelegram()
    with serve(telegram, TOKEN) as base_url:
        env = {"TELEGRAM_BOT_TOKEN": TOKEN, "TELEGRAM_BASE_URL": base_url,
               "DATABASE_URL": f"sqlite:///{tmp_path / 'bot.db'}", "LOG_LEVEL": "DEBUG",
               "TICK_SECONDS": "3600"}
        log = tmp_path / "bot.log"
        process = processes.start_coach(["run"], env=env, workdir=tmp_path, log=log)
        stranger = FakeUser(987_654, "Stranger", language_code="en")
        telegram.push_update(telegram.message_update(stranger, "hello"))
        deadline = time.monotonic() + 90
        while not telegram.messages_to(stranger.id) and time.monotonic() < deadline:
            if process.poll() is not None:
                break
            time.sleep(0.05)
        processes.stop(process, timeout=60)  # Ctrl-C: the shutdown lines are checked too
    output = log.read_text(errors="replace")
    assert telegram.messages_to(stranger.id), output[-3000:]
    assert "Set Bot API URL" in output  # the DEBUG line that carries the token is there ...
    assert TOKEN not in output and TOKEN.split(":")[1] not in output  # ... without it
