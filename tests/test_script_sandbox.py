"""Issue 11.1: script texts are data. No template code from a lead or a file ever runs."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from sqlalchemy import select

from bot.cli import main
from coach.services import people
from scripts_library.loader import validate_library
from scripts_library.schema import Script
from storage.models import TeamScript
from tests.conftest import BotHarness

# what an attacker types into a script; each must be refused and none may ever run
ATTACKS = [
    "{{ config }}",
    "{{ ''.__class__.__mro__ }}",
    "{{ ''.__class__.__mro__[1].__subclasses__() }}",
    "{{ cycler.__init__.__globals__.os.environ }}",
    "{{ lipsum.__globals__['os'].environ['HOME'] }}",
    "{{ self._TemplateReference__context }}",
    "{{ 7*7 }}",
    "{{ client|attr('__class__') }}",
    "{% for x in range(3) %}{{ x }}{% endfor %}",
    "{% include '/etc/passwd' %}",
    "{% set a = 1 %}",
    "{# hidden #}",
]
# what must never appear in any reply: results of evaluating the payloads
LEAKS = ("<class", "environ", "'HOME'", "49", "012", "root:", "Undefined", "TemplateReference")


def _lead_adds(chat, say: str):  # type: ignore[no-untyped-def]
    async def run():  # type: ignore[no-untyped-def]
        await chat.send("/addscript")
        await chat.press("as c 20")  # closing: one "say" text
        await chat.send("稳妥收尾")
        await chat.send("怎么收尾")
        await chat.send(f"您看今天先办好，{say} 好吗？")
        return await chat.press("as save")
    return run()


@pytest.mark.parametrize("payload", ATTACKS)
async def test_addscript_refuses_template_code(harness: BotHarness, payload: str) -> None:
    lead = harness.person("lead", team="Alpha")
    replies = await _lead_adds(harness.chat(lead), payload)
    text = replies[-1].text
    assert "话术未保存" in text and "{{ client }}" in text and "模板代码" in text
    for leak in LEAKS:
        assert leak not in text
    with harness.services.db.session() as s:
        assert s.scalars(select(TeamScript)).all() == []


async def test_addscript_refusal_in_english(harness: BotHarness) -> None:
    lead = harness.person("lead", team="Alpha", language="en")
    replies = await _lead_adds(harness.chat(lead), "{{ config }}")
    assert "template code" in replies[-1].text and "{{ client }}" in replies[-1].text


async def test_addscript_known_placeholder_still_works(harness: BotHarness) -> None:
    lead = harness.person("lead", team="Alpha")
    replies = await _lead_adds(harness.chat(lead), "{{ client }}")
    assert "已为团队保存" in replies[-1].text
    found = (await harness.chat(lead).send("/library"))
    assert found


def test_stored_attack_renders_as_plain_text() -> None:
    """Even a text that got into the database before validation is shown, not run."""
    os.environ.setdefault("HOME", "/root")
    for payload in ATTACKS:
        script = Script(id="team1.s1", category="closing", title="t", triggers=["x"],
                        say=f"您好 {payload} {{{{ client }}}}", variables=["client"], team_id=1)
        out = script.render("zh", {"client": "王先生"}).say
        assert out == f"您好 {payload} 王先生", payload


async def test_inline_mode_shows_payload_literally(harness: BotHarness) -> None:
    """A script stored with a payload (e.g. before the fix) reaches inline mode as text."""
    lead = harness.person("lead", team="Alpha")
    with harness.services.db.session() as s:
        team = people.get_team(s, "Alpha")
        s.add(TeamScript(team_id=team.id, script_id="alpha.evil", created_at=harness.clock.now(),
                         updated_at=harness.clock.now(),
                         data={"category": "closing", "title": "环境变量收尾",
                               "triggers": ["环境变量收尾"],
                               "say": "{{ cycler.__init__.__globals__.os.environ }} {{ 7*7 }}"}))
    with harness.services.db.session() as s:
        harness.services.catalog.load_team_scripts(s)
    answer = await harness.chat(lead).inline("环境变量收尾")
    assert answer is not None and answer["results"]
    body = answer["results"][0]["input_message_content"]["message_text"]
    assert "__globals__" in body and "{{ 7*7 }}" in body
    assert "49" not in body and "environ(" not in body


def _write(tmp_path: Path, body: str) -> Path:
    path = tmp_path / "team.yaml"
    path.write_text("category: closing\nscripts:\n" + body, encoding="utf-8")
    return path


def _entry(sid: str, say: str, extra: str = "") -> str:
    return (f"  - id: {sid}\n    title: 收尾{sid[-1]}\n    triggers: [收尾{sid[-1]}]\n"
            f"    say: \"{say}\"\n{extra}")


def test_cli_import_refuses_every_payload_with_file_line(services, monkeypatch, capsys,  # type: ignore[no-untyped-def]
                                                         tmp_path: Path) -> None:
    with services.db.session() as s:
        people.create_team(s, "Alpha", clock=services.clock)
    monkeypatch.setenv("DATABASE_URL", services.settings.database_url)
    body = _entry("alpha.good", "您看今天先办好，好吗？")
    for i, payload in enumerate(ATTACKS):
        body += _entry(f"alpha.bad{i}", payload.replace('"', "'"),
                       "    variables: [config]\n" if "config" in payload else "")
    path = _write(tmp_path, body)
    assert main(["scripts", "import", str(path), "--team", "Alpha"]) == 1
    out = capsys.readouterr().out
    lines = [ln for ln in out.splitlines() if ln.startswith(f"{path}:")]
    assert len({ln.split(":")[1] for ln in lines}) == len(ATTACKS)  # one located line each
    assert all("template syntax" in ln or "known placeholders" in ln or "not listed" in ln
               for ln in lines)
    with services.db.session() as s:
        assert s.scalars(select(TeamScript)).all() == []  # the good one is not written either


def test_validate_refuses_template_code_in_content(tmp_path: Path) -> None:
    body = _entry("demo.one", "{% for x in range(3) %}{{ x }}{% endfor %}")
    body += _entry("demo.two", "{{ ''.__class__ }}")
    (tmp_path / "c.yaml").write_text("category: closing\nscripts:\n" + body, encoding="utf-8")
    problems = [str(p) for p in validate_library(tmp_path)]
    assert any(p.startswith("c.yaml:6:") and "template syntax" in p for p in problems)
    assert any(p.startswith("c.yaml:10:") and "template syntax" in p for p in problems)
