"""What kind of message a query is: a bank-service request, or evidence of an objection.

Two small data files drive it:

* ``services.yaml``: ordinary service requests (lost card, card bill, branch hours …)
  with the next step to give the customer, in Chinese and English;
* ``evidence.yaml``: for each category, the concepts or cues a query must contain
  before search may answer it confidently.

Both are matched on the same normalised text as search (:meth:`Analyzer.clean`), so
Traditional, dialect and full-width input behave like plain Simplified.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

import ahocorasick
import yaml

from scripts_library.analyze import Analyzer, get_analyzer, stem

__all__ = ["QueryReader", "ServiceIntent", "get_reader"]

_HERE = Path(__file__).resolve().parent
SERVICES_FILE = _HERE / "services.yaml"
EVIDENCE_FILE = _HERE / "evidence.yaml"

_ASCII_WORD = re.compile(r"[a-z][a-z0-9\-']*")


@dataclass(frozen=True)
class ServiceIntent:
    """A recognised service request and what the customer should do next."""

    key: str
    next_step: dict[str, str]  # "zh" / "en" -> text

    def text(self, lang: str) -> str:
        return self.next_step.get(lang) or self.next_step.get("zh") or ""


class _Phrase:
    """One phrase matched like a synonym: Chinese anywhere, one character as a word, English
    as whole stemmed words."""

    __slots__ = ("chinese", "english", "single")

    def __init__(self, norm: str, *, substring: bool = False) -> None:
        self.english = ""
        self.chinese = ""
        self.single = ""
        if norm.isascii():
            self.english = " " + " ".join(stem(w) for w in _ASCII_WORD.findall(norm)) + " "
        elif len(norm) == 1 and not substring:
            self.single = norm
        else:
            self.chinese = norm

    def found(self, view: _View) -> bool:
        if self.english:
            return self.english.strip() != "" and self.english in view.english
        if self.single:
            return self.single in view.words
        return bool(self.chinese) and self.chinese in view.present


@dataclass(frozen=True)
class _View:
    clean: str
    words: frozenset[str]
    english: str  # " stemmed words " for phrase containment
    present: frozenset[str]  # every Chinese phrase of the data files found in ``clean``


class QueryReader:
    """Service intents and per-category evidence, loaded once per process."""

    def __init__(self, analyzer: Analyzer | None = None, services_file: Path = SERVICES_FILE,
                 evidence_file: Path = EVIDENCE_FILE) -> None:
        self.analyzer = analyzer or get_analyzer()
        self._chinese: set[str] = set()
        services = yaml.safe_load(services_file.read_text(encoding="utf-8")) or {}
        evidence = yaml.safe_load(evidence_file.read_text(encoding="utf-8")) or {}
        self._not_service = [self._phrase(p) for p in services.get("not_service") or []]
        self._intents: list[tuple[ServiceIntent, list[list[_Phrase]]]] = []
        for key, spec in (services.get("intents") or {}).items():
            # a part of a service pattern is found anywhere ("卡" in "银行卡丢了")
            patterns = [[self._phrase(part, substring=True) for part in str(p).split("+")
                         if part.strip()] for p in spec.get("match") or []]
            raw_steps = spec.get("next_step") or {}
            steps = {lang: str(text).strip() for lang, text in raw_steps.items()}
            self._intents.append((ServiceIntent(str(key), steps), [p for p in patterns if p]))
        # a cue phrase written "~吗" is found anywhere, even one character that is a stop word
        self._cues = {name: [self._phrase(str(p)[1:], substring=True) if str(p).startswith("~")
                             else self._phrase(p) for p in phrases or []]
                      for name, phrases in (evidence.get("cues") or {}).items()}
        self._rules: dict[str, list[tuple[str, ...]]] = {
            cat: [tuple(alt) for alt in alts or []]
            for cat, alts in (evidence.get("categories") or {}).items()}
        # when every name of ``when`` is found, the ``drop`` categories lose their backing: a
        # comparison with another bank's fee is about the other bank, not about the fee
        self._overrides: list[tuple[tuple[str, ...], tuple[str, ...]]] = [
            (tuple(str(n) for n in o.get("when") or []), tuple(str(c) for c in o.get("drop") or []))
            for o in evidence.get("overrides") or []]
        # all Chinese phrases in one automaton: a query is scanned once, in C
        self._automaton = ahocorasick.Automaton()
        for phrase in self._chinese:
            self._automaton.add_word(phrase, phrase)
        if self._chinese:
            self._automaton.make_automaton()

    def _phrase(self, text: object, *, substring: bool = False) -> _Phrase:
        phrase = _Phrase(self.analyzer.norm(str(text).strip()), substring=substring)
        if phrase.chinese:
            self._chinese.add(phrase.chinese)
        return phrase

    def view(self, clean: str, words: list[str] | None = None) -> _View:
        words_set = frozenset(self.analyzer.words(clean) if words is None else words)
        english = " " + " ".join(stem(w) for w in _ASCII_WORD.findall(clean)) + " "
        present = frozenset(v for _, v in self._automaton.iter(clean)) if self._chinese and \
            not clean.isascii() else frozenset()
        return _View(clean, words_set, english, present)

    # ---------------------------------------------------------------- services
    def service(self, clean: str, view: _View | None = None) -> ServiceIntent | None:
        """The service request ``clean`` makes, if any (first matching intent in file order)."""
        if not clean:
            return None
        view = view or self.view(clean)
        if any(p.found(view) for p in self._not_service):
            return None
        for intent, patterns in self._intents:
            if any(all(part.found(view) for part in pattern) for pattern in patterns):
                return intent
        return None

    def intent(self, key: str) -> ServiceIntent | None:
        return next((i for i, _ in self._intents if i.key == key), None)

    @property
    def intents(self) -> list[ServiceIntent]:
        return [i for i, _ in self._intents]

    # ---------------------------------------------------------------- evidence
    def cues(self, view: _View) -> set[str]:
        return {name for name, phrases in self._cues.items() if any(p.found(view) for p in phrases)}

    def supported(self, concepts: Iterable[str], view: _View) -> set[str]:
        """Categories whose evidence rule the query meets (concepts from the analyzer)."""
        names = set(concepts) | self.cues(view)
        backed = {cat for cat, alts in self._rules.items()
                  if any(all(n in names for n in alt) for alt in alts)}
        beaten = {c for when, drop in self._overrides if when and all(n in names for n in when)
                  for c in drop}
        if "*" in beaten:  # e.g. a question about public services: no category is backed
            return set()
        return backed - beaten


_reader: QueryReader | None = None
_reader_lock = threading.Lock()


def get_reader() -> QueryReader:
    """The process-wide reader (shares the process-wide analyzer)."""
    global _reader
    if _reader is None:
        with _reader_lock:
            if _reader is None:
                _reader = QueryReader()
    return _reader
