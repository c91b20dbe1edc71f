"""Why a lead's ``/addscript`` draft is refused, step by step, in words a chat can translate.

:meth:`ScriptCatalog.check_team_script` answers with one English sentence, which is
right for the YAML tools. A draft typed in a chat needs more: which step failed
(so only that step is asked again, the rest of the draft kept) and why, as codes and
language-neutral values (a rule id, the offending words) that the template words in
the lead's own language.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from pydantic import ValidationError

from coach.services.errors import ServiceError
from scripts_library import placeholders
from scripts_library.loader import content_findings, typography_findings
from scripts_library.placeholders import KNOWN_VARIABLES
from scripts_library.schema import CATEGORIES, STEP_KEYS, Script

__all__ = ["DRAFT_STEPS", "DraftProblem", "DraftRefused", "draft_problems", "step_of"]

# the steps of /addscript, in the order it asks them
DRAFT_STEPS: tuple[str, ...] = ("category", "title", "triggers", "say", *STEP_KEYS)


@dataclass(frozen=True)
class DraftProblem:
    """One reason a draft was refused.

    ``step``: the /addscript step to ask again (``DRAFT_STEPS``); ``code``: ``rule``
    (a mis-selling rule: ``rule``, ``words``), ``competitor`` (``name``), ``template``
    (code in braces: ``allowed``), ``escape``/``backslash``/``unmatched`` (typography:
    ``token``) or ``invalid`` (anything else: ``detail``, in English).
    """

    step: str
    code: str
    params: dict[str, str] = field(default_factory=dict)


class DraftRefused(ServiceError):
    """A draft with problems the lead can fix step by step (``problems`` in asking order)."""

    def __init__(self, problems: list[DraftProblem]) -> None:
        super().__init__("script_draft_refused", problems=problems)
        self.problems = problems

    @property
    def steps(self) -> list[str]:
        """The steps to ask again, each once, in the order /addscript asks them."""
        failed = {p.step for p in self.problems}
        return [s for s in DRAFT_STEPS if s in failed]


def step_of(path: str) -> str:
    """A script field path (``steps.answer``, ``triggers[2]``, ``say``) → its /addscript step."""
    head = path.split(".")[-1] if path.startswith("steps.") else path
    head = head.split("[")[0]
    return head if head in DRAFT_STEPS else "say"


def draft_problems(data: dict[str, Any], *, script_id: str, team_id: int) -> list[DraftProblem]:
    """Everything wrong with a draft's content, by step (empty: the content is fine)."""
    category = data.get("category")
    if category not in CATEGORIES:
        return [DraftProblem("category", "invalid", {"detail": f"unknown category {category}"})]
    payload = {k: v for k, v in data.items() if k not in ("id", "team_id")}
    used = {name for key, value in payload.items() if key != "triggers"
            for text in _texts(value) for name in placeholders.used_variables(text)}
    payload["variables"] = [name for name in KNOWN_VARIABLES if name in used]
    try:
        script = Script.model_validate({**payload, "id": script_id, "team_id": team_id})
    except ValidationError as err:
        return [DraftProblem(step_of(".".join(map(str, e["loc"]))), "invalid",
                             {"detail": str(e["msg"])}) for e in err.errors()]
    allowed = ", ".join(f"{{{{ {v} }}}}" for v in KNOWN_VARIABLES)
    out: list[DraftProblem] = []
    for path, text in script.text_fields():
        step = step_of(path)
        is_trigger = path.startswith("triggers")
        if placeholders.problems(text, () if is_trigger else script.variables):
            out.append(DraftProblem(step, "template", {"allowed": allowed}))
            continue  # the rest of a text with code in it is not worth reading
        if is_trigger:  # what customers say, not what advisors say
            continue
        for kind, rule, words in content_findings(text, tags=script.tags):
            out.append(DraftProblem(step, "rule", {"rule": rule, "words": words})
                       if kind == "rule" else DraftProblem(step, "competitor", {"name": words}))
        out += [DraftProblem(step, kind, {"token": token})
                for kind, token in typography_findings(text)]
    return sorted(out, key=lambda p: DRAFT_STEPS.index(p.step))


def _texts(value: Any) -> list[str]:
    if isinstance(value, str):
        return [value]
    if isinstance(value, dict):
        return [t for item in value.values() for t in _texts(item)]
    if isinstance(value, list):
        return [t for item in value for t in _texts(item)]
    return []
