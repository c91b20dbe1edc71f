"""Score one advisor reply in a role-play: deterministic, explainable checks.

Each reply is tested against small yes/no checks that the transcript itself can
prove (did it restate the concern, give a fact, end with a question...). The
score is the weighted share of checks passed, 0-100. Mis-selling found by the
compliance engine (``coach.compliance``: rules from ``rules.yaml`` plus the
classifier's second opinion) overrides it: the score is capped, the grade is
``non_compliant`` and ``evidence`` holds the words that triggered each rule. A
missing risk disclosure is not mis-selling: it is listed in ``warnings``, lowers
the score and sets the tip. Cue lists live in ``cues.yaml``; this module only
applies them.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from functools import lru_cache

import jieba
from rapidfuzz import fuzz

from coach.compliance.engine import Finding, check
from coach.roleplay import relevance
from coach.roleplay.cues import ComplianceConfig, Cues, fold, load_cues
from scripts_library.normalize import to_simplified

__all__ = [
    "CHECKS", "COMPLIANCE_TIPS", "Scorer", "TurnScore", "find_compliance", "find_misselling",
    "name_variants",
    "score_reply", "tip_text",
]

jieba.setLogLevel(60)  # jieba logs its dictionary load at INFO

CHECKS: tuple[str, ...] = (
    "restate", "acknowledge", "compliment", "answer_fact", "benefit_first",
    "advance", "uses_name", "concise", "no_argue", "relevant",
)
CHECK_TIPS: dict[str, str] = {
    "restate": "tip.restate",
    "acknowledge": "tip.acknowledge",
    "compliment": "tip.compliment",
    "answer_fact": "tip.add_fact",
    "benefit_first": "tip.benefit_first",
    "advance": "tip.advance",
    "uses_name": "tip.use_name",
    "no_argue": "tip.no_argue",
}
COMPLIANCE_TIPS: dict[str, str] = {
    "guaranteed_return": "tip.no_guarantee",
    "risk_denied": "tip.no_risk_denial",
    "side_deal": "tip.no_side_deal",
    "pressure": "tip.no_pressure",
    "disparage_competitor": "tip.no_disparage",
    "mislabelled_product": "tip.no_mislabel",
    "suitability_evasion": "tip.no_suitability_evasion",
    "no_consent": "tip.no_consent",
    "rule_evasion": "tip.no_rule_evasion",
    "missing_risk_disclosure": "tip.add_risk_disclosure",
}
SOFT = "missing_risk_disclosure"
_SENTENCE_END = re.compile(r"[。！？!?；;\n]+|(?<=[a-z0-9])\.(?=\s|$)")
_CJK = re.compile(r"[\u4e00-\u9fff]")
_HONORIFICS_ZH = (
    "先生", "女士", "小姐", "太太", "阿姨", "叔叔", "姐", "哥", "总", "老师", "经理", "大爷",
    "医生", "博士", "主任", "律师", "老板", "工",
)
_HONORIFICS_EN = ("mr", "mrs", "ms", "miss", "dr", "auntie", "aunt", "uncle", "madam")


@dataclass(frozen=True, slots=True)
class TurnScore:
    """The verdict on one reply; ``tip`` is a code such as ``tip.add_fact``."""

    score: int
    checks: dict[str, bool]
    compliance: list[str]  # mis-selling rule ids (capped score)
    tip: str
    grade: str  # "good" | "weak" | "non_compliant"
    warnings: list[str] = field(default_factory=list)  # e.g. missing_risk_disclosure
    evidence: dict[str, str] = field(default_factory=dict)  # rule id -> triggering words

    def to_dict(self) -> dict[str, object]:
        return asdict(self)


# anything with the signature of score_reply (the engine accepts any such callable)
Scorer = Callable[..., TurnScore]


def score_reply(
    reply: str,
    *,
    category: str,
    customer_line: str = "",
    customer_name: str | None = None,
    requires_risk_disclosure: bool = False,
    model_answers: Sequence[str] = (),
    lang: str = "zh",
    cues: Cues | None = None,
) -> TurnScore:
    """Score ``reply`` to a customer turn of ``category`` (0-100, see module doc)."""
    cues = cues or load_cues()
    text = fold(reply)
    if not text:
        checks = dict.fromkeys(_applicable(customer_name), False)
        return TurnScore(0, checks, [], "tip.concise_short", "weak")
    reply_lang = _script(text, lang)
    sentences = _sentences(reply)
    checks = {
        "restate": _restate(sentences, category, customer_line, cues),
        "acknowledge": _acknowledge(text, cues),
        "compliment": cues.checks["compliment"].search(text),
        "answer_fact": _answer_fact(text, customer_line, model_answers, cues),
        "benefit_first": cues.checks["benefit_first"].search(text),
        "advance": _advance(reply, text, cues),
        "concise": _length_ok(text, reply_lang, cues),
        "no_argue": not _real_hit(text, cues.checks["no_argue"].spans(text), cues.compliance,
                                  deposits=False),
    }
    if _follows_model(text, model_answers, cues):
        # a reply that follows one of the library's model answers word for word is what
        # the library teaches: the scorer must not grade its own standard "weak"
        checks.update(dict.fromkeys(FOLLOW_CREDIT, True))
    if customer_name:
        checks["uses_name"] = _uses_name(text, customer_name)
    weights = cues.weights_for(category)
    total = sum(weights.get(name, 0) for name in checks)
    passed = sum(weights.get(name, 0) for name, ok in checks.items() if ok)
    raw = round(100 * passed / total) if total else 0
    # an answer that ignores what the customer just said cannot score well (relevance.py)
    checks["relevant"] = relevance.is_relevant(reply, customer_line=customer_line,
                                               category=category, cues=cues)
    if not checks["relevant"]:
        raw = min(raw, relevance.CAP)
    findings = find_misselling(reply)
    if findings:
        cap = cues.thresholds["compliance_cap"]
        ids = [f.rule for f in findings]
        evidence = {f.rule: f.words for f in findings}
        tip = COMPLIANCE_TIPS.get(ids[0], "tip.no_guarantee")
        return TurnScore(min(raw, cap), checks, ids, tip, "non_compliant", evidence=evidence)
    warnings = find_compliance(text, requires_risk_disclosure, cues.compliance)
    if warnings:
        raw = max(0, raw - cues.thresholds["risk_disclosure_penalty"])
    grade = "good" if raw >= cues.thresholds["good"] else "weak"
    if warnings:
        tip = COMPLIANCE_TIPS[warnings[0]]
    elif checks.get("relevant") is False:
        tip = "tip.relevance"
    else:
        tip = _tip(checks, text, reply_lang, cues)
    return TurnScore(raw, checks, [], tip, grade, warnings=warnings)


def find_misselling(reply: str) -> list[Finding]:
    """Mis-selling in ``reply``: the rules' findings, plus the classifier's when it adds one."""
    from coach.compliance.model import second_opinion

    findings = check(reply)
    extra = second_opinion(reply, already=[f.rule for f in findings])
    return findings + extra


def tip_text(code: str, lang: str = "zh") -> str:
    """Default wording of a tip code (for the CLI; Telegram uses templates)."""
    return load_cues().tip_text(code, lang)


# ---------------------------------------------------------------- helpers


def _applicable(customer_name: str | None) -> list[str]:
    return [c for c in CHECKS if c != "uses_name" or customer_name]


def _script(text: str, hint: str) -> str:
    """``zh`` or ``en``: which length rule applies, judged from the text itself."""
    letters = [ch for ch in text if not ch.isspace()]
    if not letters:
        return hint
    cjk = sum(1 for ch in letters if _CJK.match(ch))
    return "zh" if cjk / len(letters) >= 0.3 else "en"


def _prepare(text: str) -> str:
    """Like normalize() but keeps punctuation (needed to see questions and sentences)."""
    return to_simplified(unicodedata.normalize("NFKC", text)).lower().strip()


def _sentences(reply: str) -> list[str]:
    parts = [fold(p) for p in _SENTENCE_END.split(_prepare(reply))]
    return [p for p in parts if p]


def _opening(sentences: list[str]) -> str:
    """The first sentence, plus the next when the first is only a greeting or a name."""
    if not sentences:
        return ""
    first = sentences[0]
    if len(first.replace(" ", "")) < 8 and len(sentences) > 1:
        first = f"{first} {sentences[1]}"
    return first


@lru_cache(maxsize=512)
def _content_tokens(line: str, stopwords: frozenset[str]) -> frozenset[str]:
    tokens = set()
    for tok in jieba.lcut(fold(line)):
        tok = tok.strip()
        if not tok or tok in stopwords:
            continue
        is_cjk = bool(_CJK.match(tok))
        if (is_cjk and len(tok) >= 2) or (not is_cjk and len(tok) >= 3):
            tokens.add(tok)
    return frozenset(tokens)


def _restate(sentences: list[str], category: str, customer_line: str, cues: Cues) -> bool:
    opening = _opening(sentences)
    if cues.checks["restate"].search(opening):
        return True
    customer = _content_tokens(customer_line, cues.stopwords) if customer_line else frozenset()
    keywords = cues.category_keywords.get(category, ())
    echoed = [t for t in customer if t in opening]
    found = echoed + [k for k in keywords if _contains(opening, k)]
    distinct = {t for t in found if not any(t != o and t in o for o in found)}
    # a short customer line ("太贵了") is echoed by repeating one of its own words
    return len(distinct) >= 2 or (bool(echoed) and len(customer) <= 2)


def _contains(text: str, phrase: str) -> bool:
    if re.match(r"[a-z0-9]", phrase):
        return re.search(rf"(?<![a-z0-9]){re.escape(phrase)}(?![a-z0-9])", text) is not None
    return phrase in text


def _blank(text: str, spans: list[tuple[int, int]]) -> str:
    for start, end in reversed(spans):
        text = text[:start] + " " * (end - start) + text[end:]
    return text


def _acknowledge(text: str, cues: Cues) -> bool:
    # "我理解您的意思是…" is a restatement, not an acknowledgement: blank it out first
    return cues.checks["acknowledge"].search(_blank(text, cues.checks["restate"].spans(text)))


@lru_cache(maxsize=2048)
def _segmented(text: str) -> str:
    return " ".join(t for t in jieba.lcut(text) if t.strip())


_NUMBER = re.compile(r"\d+(?:\.\d+)?%?")


def _answer_fact(
    text: str, customer_line: str, model_answers: Sequence[str], cues: Cues
) -> bool:
    """A concrete fact of the advisor's own: echoing the customer's "1.5%" is not one."""
    own = text
    for number in set(_NUMBER.findall(fold(customer_line))):
        own = own.replace(number, " ")
    ignore = cues.checks.get("answer_fact_ignore")
    if ignore is not None:
        own = _blank(own, ignore.spans(own))
    if cues.checks["answer_fact"].search(own):
        return True
    if len(text) < 15:
        return False
    mine = _segmented(text)
    threshold = cues.thresholds["model_similarity"]
    return any(
        fuzz.token_sort_ratio(mine, _segmented(fold(answer))) >= threshold
        for answer in model_answers
        if answer
    )


FOLLOW_CREDIT = ("restate", "acknowledge", "compliment", "answer_fact", "benefit_first",
                 "advance", "concise")


def _follows_model(text: str, model_answers: Sequence[str], cues: Cues) -> bool:
    """True when ``text`` is (nearly) one of the model answers, read out."""
    if len(text) < 40 or not model_answers:
        return False
    mine = _segmented(text)
    threshold = cues.thresholds["model_follow"]
    return any(
        fuzz.token_sort_ratio(mine, _segmented(fold(answer))) >= threshold
        for answer in model_answers
        if answer and abs(len(answer) - len(text)) < 0.3 * len(text)
    )


_CLOSING_SENTENCES = re.compile(r"[^。！？!?；;\n]*[。！？!?；;\n]*")


def _is_question(sentence: str, cues: Cues) -> bool:
    tail = sentence.rstrip()
    tail = re.sub(r"[\s\W_]+$", lambda m: "?" if re.search(r"[?？]", m.group()) else "", tail)
    return bool(tail) and any(tail.endswith(e) for e in cues.question_endings)


_OWN_NEXT_STEP = re.compile(r"^\s*(我|咱们|我们|i |i'|let me|let's)")


def _closing_question(reply: str, cues: Cues) -> bool:
    """The reply ends with a question, or with a question plus the advisor's own next step
    ("…周二还是周三？我提前帮您准备好。")."""
    sentences = [s for s in _CLOSING_SENTENCES.findall(_prepare(reply)) if s.strip()]
    if not sentences:
        return False
    if _is_question(sentences[-1], cues):
        return True
    return (
        len(sentences) > 1
        and _is_question(sentences[-2], cues)
        and _OWN_NEXT_STEP.match(sentences[-1]) is not None
    )


def _advance(reply: str, text: str, cues: Cues) -> bool:
    return _closing_question(reply, cues) or cues.checks["advance"].search(text)


def _length_ok(text: str, script: str, cues: Cues) -> bool:
    band = cues.length[script]
    size = len(text.replace(" ", "")) if script == "zh" else len(text.split())
    return band["min"] <= size <= band["max"]


def _length_tip(text: str, script: str, cues: Cues) -> str:
    size = len(text.replace(" ", "")) if script == "zh" else len(text.split())
    return "tip.concise_short" if size < cues.length[script]["min"] else "tip.concise_long"


def _tip(checks: dict[str, bool], text: str, script: str, cues: Cues) -> str:
    for name in cues.tip_order:
        if name in checks and not checks[name]:
            return _length_tip(text, script, cues) if name == "concise" else CHECK_TIPS[name]
    return "tip.well_done"


# ---------------------------------------------------------------- names


@lru_cache(maxsize=256)
def name_variants(name: str) -> tuple[str, ...]:
    """Ways a reply may address ``name``: "王先生" → 王先生, 王女士, 王姐…, mr wang…"""
    norm = fold(name)
    if not norm:
        return ()
    variants = {norm}
    if _CJK.match(norm):
        surname = norm[0]
        variants.update(surname + h for h in _HONORIFICS_ZH)
        latin = _pinyin(surname)
    else:
        words = [w for w in norm.split() if w not in _HONORIFICS_EN]
        latin = words[-1] if words else ""
    if latin:
        variants.update(f"{h} {latin}" for h in _HONORIFICS_EN)
    return tuple(sorted(variants))


def _pinyin(surname: str) -> str:
    try:
        from pypinyin import lazy_pinyin
    except ImportError:  # optional: English replies then need the exact name
        return ""
    return "".join(lazy_pinyin(surname))


def _uses_name(text: str, customer_name: str) -> bool:
    return any(_contains(text, v) for v in name_variants(customer_name))


# ---------------------------------------------------------------- compliance


def find_compliance(text: str, requires_risk_disclosure: bool, cfg: ComplianceConfig) -> list[str]:
    """Warnings (not mis-selling) in the normalised ``text``: a missing risk disclosure."""
    found = {name for name, rule in cfg.rules.items() if _real_hit(text, rule.spans(text), cfg)}
    if (
        requires_risk_disclosure
        and _real_hit(text, cfg.product.spans(text), cfg, deposits=False)
        and cfg.recommend.search(text)
        and not cfg.risk.search(text)
    ):
        found.add("missing_risk_disclosure")
    return [name for name in cfg.order if name in found]


def _real_hit(
    text: str, spans: list[tuple[int, int]], cfg: ComplianceConfig, *, deposits: bool = True
) -> bool:
    """True when some match is meant: not negated, not the client's wish, not about deposits."""
    return any(not _excused(text, start, end, cfg, deposits=deposits) for start, end in spans)


def _excused(
    text: str, start: int, end: int, cfg: ComplianceConfig, *, deposits: bool = True
) -> bool:
    if re.match(r"[a-z0-9]", text[start:end]):
        before_words = text[:start].split()[-cfg.en_window:]
        before = " ".join(before_words)
        if cfg.negators_en & set(before_words):
            return True
        if any(_contains(before, w) for w in cfg.wish_en):
            return True
        return deposits and _about_deposit(" ".join(text[:start].split()[-6:]), cfg)
    clause = text[:start].rsplit(" ", 1)[-1]
    window = clause[-cfg.zh_window:]
    if text[start] == "不" and start > 0 and text[start - 1] == text[start + 1 : start + 2]:
        return True  # "会不会亏": a question, not a promise
    if any(n in window for n in cfg.negators_zh) or any(w in window for w in cfg.wish_zh):
        return True
    return deposits and _about_deposit(clause[-10:], cfg)


def _about_deposit(before: str, cfg: ComplianceConfig) -> bool:
    if not any(_contains(before, w) for w in cfg.deposit_words):
        return False
    return not any(_contains(before, s) for s in cfg.same_as)
