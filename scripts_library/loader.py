"""Read the YAML script library into :class:`Library`, and validate it.

Every script keeps the file and line it came from, so the validator can point a
content writer at ``objection/fee_too_high.yaml:42``. ``load_library`` is
lenient (a broken script is skipped and reported in ``Library.problems``);
``validate_library`` adds the content rules from ``rules.yaml`` and is what
``coach scripts validate`` and CI run.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

from scripts_library import placeholders
from scripts_library.normalize import normalize
from scripts_library.schema import CATEGORIES, Script

__all__ = [
    "CONTENT_DIR", "Library", "Problem", "check_script", "content_findings", "coverage_problems",
    "load_entries", "load_library", "typography_findings", "typography_problems",
    "validate_library",
]

CONTENT_DIR = Path(__file__).resolve().parent / "content"
RULES_FILE = Path(__file__).resolve().parent / "rules.yaml"

_SCRIPT_KEYS = frozenset(Script.model_fields) - {"source_file", "source_line", "team_id"}
_FILE_KEYS = frozenset({"category", "scripts"})


@dataclass(frozen=True, slots=True, order=True)
class Problem:
    """One thing wrong with the content, located as ``file:line``."""

    file: str
    line: int
    message: str

    def __str__(self) -> str:
        return f"{self.file}:{self.line}: {self.message}"


@dataclass
class Library:
    """All valid scripts, with quick look-ups; ``problems`` lists what was skipped."""

    scripts: list[Script]
    root: Path | None = None
    problems: list[Problem] = field(default_factory=list)
    # script id -> {field path -> line}, for precise validator messages
    field_lines: dict[str, dict[str, int]] = field(default_factory=dict, repr=False)

    def __post_init__(self) -> None:
        self._by_id = {s.id: s for s in self.scripts}

    def __len__(self) -> int:
        return len(self.scripts)

    def __iter__(self) -> Iterator[Script]:
        return iter(self.scripts)

    def get(self, script_id: str) -> Script | None:
        return self._by_id.get(script_id)

    def by_category(self, category: str) -> list[Script]:
        return [s for s in self.scripts if s.category == category]

    def stats(self) -> dict[str, Any]:
        """``{"total": N, "by_category": {cat: n}}`` with every known category listed."""
        counts = Counter(s.category for s in self.scripts)
        by_category = {c: counts.get(c, 0) for c in CATEGORIES}
        by_category.update({c: n for c, n in sorted(counts.items()) if c not in by_category})
        return {"total": len(self.scripts), "by_category": by_category,
                "by_language": self.language_coverage()}

    def language_coverage(self) -> dict[str, dict[str, int]]:
        """Complete translations per language: scripts, and risk notes among them.

        ``zh-Hans`` is the source; an English script counts only when every Chinese
        text (title, steps or say, short version, risk note) has an English match.
        """
        zh_notes = sum(1 for s in self.scripts if s.risk_note)
        en_scripts = [s for s in self.scripts if not s.missing_translation("en")]
        return {
            "zh-Hans": {"scripts": len(self.scripts), "risk_notes": zh_notes},
            "en": {"scripts": len(en_scripts),
                   "risk_notes": sum(1 for s in self.scripts
                                     if s.risk_note and s.en is not None and s.en.risk_note)},
        }


# --------------------------------------------------------------------------- loading


def load_library(root: Path | str | None = None) -> Library:
    """Load every ``*.yaml`` under ``root`` (default: the package's ``content/``)."""
    base = Path(root) if root is not None else CONTENT_DIR
    scripts: list[Script] = []
    problems: list[Problem] = []
    field_lines: dict[str, dict[str, int]] = {}
    seen: dict[str, Problem] = {}
    for path in _yaml_files(base):
        name = _display_name(path, base)
        for script, lines, script_problems in _load_file(path, name):
            problems += script_problems
            if script is None:
                continue
            first = seen.get(script.id)
            if first is not None:
                where = f"{first.file}:{first.line}"
                problems.append(Problem(name, script.source_line or 1,
                                        f"duplicate id {script.id!r} (first defined at {where})"))
                continue
            seen[script.id] = Problem(name, script.source_line or 1, "")
            scripts.append(script)
            field_lines[script.id] = lines
    return Library(scripts=scripts, root=base, problems=sorted(problems), field_lines=field_lines)


def _yaml_files(base: Path) -> list[Path]:
    if base.is_file():
        return [base]
    return sorted(p for p in base.rglob("*") if p.suffix in (".yaml", ".yml") and p.is_file())


def _display_name(path: Path, base: Path) -> str:
    try:
        return str(path.relative_to(base if base.is_dir() else base.parent))
    except ValueError:
        return str(path)


_Loaded = tuple[Script | None, dict[str, int], list[Problem]]


def _load_file(path: Path, name: str) -> list[_Loaded]:
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        return [(None, {}, [Problem(name, 1, f"cannot read file: {exc}")])]
    try:
        node, data = _parse(text)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark else 1
        col = f" (column {mark.column + 1})" if mark else ""
        what = " ".join(p for p in (exc.context, exc.problem) if p)
        return [(None, {}, [Problem(name, line, f"YAML syntax error: {what}{col}")])]
    except yaml.YAMLError as exc:
        return [(None, {}, [Problem(name, 1, f"YAML error: {exc}")])]
    if node is None:
        return [(None, {}, [Problem(name, 1, "empty file")])]
    header = _file_header_problems(name, node, data)
    if header:
        return [(None, {}, header)]
    default_category = data.get("category")
    seq = _mapping_value(node, "scripts")
    out: list[_Loaded] = []
    items = seq.value if isinstance(seq, yaml.SequenceNode) else []
    for item_node, raw in zip(items, data["scripts"] or [], strict=False):
        out.append(_load_script(name, item_node, raw, default_category))
    return out


MAX_IMPORT_BYTES = 5_000_000
MAX_DEPTH = 6  # script -> en -> steps -> text is 4 levels; anything deeper is not a script


def load_entries(path: Path, name: str) -> tuple[list[tuple[int, dict[str, Any]]], list[Problem]]:
    """The raw script mappings of one import file, each with its line, plus file problems.

    Used by ``coach scripts import``: the entries are checked by the team-script
    service; here only the file's shape is judged (encoding, YAML, top level, nesting).
    """
    from coach.textfile import FileProblem, read_text

    try:
        text = read_text(path, max_bytes=MAX_IMPORT_BYTES).text
        node, data = _parse(text)
    except FileProblem as exc:
        return [], [Problem(name, 1, str(exc))]
    except RecursionError:
        return [], [Problem(name, 1, "YAML is nested too deeply")]
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        what = " ".join(p for p in (exc.context, exc.problem) if p)
        return [], [Problem(name, mark.line + 1 if mark else 1, f"YAML syntax error: {what}")]
    except yaml.YAMLError as exc:
        return [], [Problem(name, 1, f"YAML error: {exc}")]
    if node is None:
        return [], [Problem(name, 1, "empty file")]
    header = _file_header_problems(name, node, data)
    if header:
        return [], header
    seq = _mapping_value(node, "scripts")
    items = seq.value if isinstance(seq, yaml.SequenceNode) else []
    entries: list[tuple[int, dict[str, Any]]] = []
    problems: list[Problem] = []
    for item_node, raw in zip(items, data["scripts"] or [], strict=False):
        line = item_node.start_mark.line + 1
        if not isinstance(raw, dict):
            problems.append(Problem(name, line, "each script must be a mapping"))
        elif _depth(item_node) > MAX_DEPTH:
            problems.append(Problem(name, line, "script is nested too deeply"))
        else:
            problems += [Problem(name, ln, f"duplicate key {key!r}")
                         for key, ln in _duplicate_keys(item_node)]
            entries.append((line, {"category": data.get("category"), **raw}))
    return entries, problems


def _depth(node: yaml.Node, level: int = 1) -> int:
    if level > MAX_DEPTH or not isinstance(node, (yaml.MappingNode, yaml.SequenceNode)):
        return level
    children = (v for _, v in node.value) if isinstance(node, yaml.MappingNode) else node.value
    return max((_depth(child, level + 1) for child in children), default=level)


def _parse(text: str) -> tuple[yaml.Node | None, Any]:
    """Compose once (for line marks) and construct from the same node tree.

    The C parser (libyaml), when installed, reads the library ten times faster (it
    halves the bot's start-up); any file it refuses is read again by the pure-Python
    parser, whose error messages (and nesting limit) are the ones users see.
    """
    fast = getattr(yaml, "CSafeLoader", None)
    if fast is not None:
        try:
            return _compose(fast, text)
        except yaml.YAMLError:
            pass
    return _compose(yaml.SafeLoader, text)


def _compose(loader_class: Any, text: str) -> tuple[yaml.Node | None, Any]:
    loader = loader_class(text)
    try:
        node = loader.get_single_node()
        data = loader.construct_document(node) if node is not None else None
    finally:
        loader.dispose()
    return node, data


def _file_header_problems(name: str, node: yaml.Node, data: Any) -> list[Problem]:
    line = node.start_mark.line + 1
    if not isinstance(data, dict):
        return [Problem(name, line, "top level must be a mapping with 'category' and 'scripts'")]
    problems = [
        Problem(name, _key_line(node, k),
                f"unknown top-level field {k!r} (allowed: category, scripts)")
        for k in data if k not in _FILE_KEYS
    ]
    if not isinstance(data.get("scripts"), list):
        problems.append(Problem(name, line, "missing 'scripts' list"))
    category = data.get("category")
    if category is not None and category not in CATEGORIES:
        problems.append(Problem(name, _key_line(node, "category"),
                                f"unknown category {category!r}"))
    return problems


def _load_script(name: str, node: yaml.Node, raw: Any, default_category: str | None) -> _Loaded:
    line = node.start_mark.line + 1
    if not isinstance(raw, dict):
        return None, {}, [Problem(name, line, "each script must be a mapping")]
    lines = _field_lines(node)
    problems = [Problem(name, ln, f"duplicate key {key!r}") for key, ln in _duplicate_keys(node)]
    unknown = [k for k in raw if k not in _SCRIPT_KEYS]
    sid = raw.get("id", "?")
    for key in unknown:
        problems.append(Problem(name, lines.get(str(key), line),
                                f"script {sid!r}: unknown field {key!r}"))
    fields = {k: v for k, v in raw.items() if k in _SCRIPT_KEYS}
    fields.setdefault("category", default_category)
    try:
        script = Script.model_validate({**fields, "source_file": name, "source_line": line})
    except ValidationError as exc:
        for err in exc.errors():
            path = _loc_path(err["loc"])
            problems.append(Problem(name, _nearest_line(lines, path, line),
                                    f"script {sid!r}: {path or 'script'}: {_describe(err)}"))
        return None, lines, problems
    if unknown:
        return None, lines, problems
    if script.category not in CATEGORIES:
        problems.append(Problem(name, lines.get("category", line),
                                f"script {sid!r}: unknown category {script.category!r}"))
        return None, lines, problems
    return script, lines, problems


def _describe(err: Any) -> str:
    if err["type"] == "missing":
        return "missing required field"
    if err["type"] == "extra_forbidden":
        return "unknown field"
    return str(err["msg"]).lower()


def _loc_path(loc: Iterable[Any]) -> str:
    parts: list[str] = []
    for p in loc:
        if isinstance(p, int):
            parts[-1:] = [f"{parts[-1] if parts else ''}[{p}]"]
        else:
            parts.append(str(p))
    return ".".join(parts)


def _nearest_line(lines: dict[str, int], path: str, default: int) -> int:
    while path:
        if path in lines:
            return lines[path]
        path = path.rpartition(".")[0] if "." in path else ""
    return default


def _field_lines(node: yaml.Node, prefix: str = "") -> dict[str, int]:
    """Map dotted field paths (``steps.answer``, ``triggers[2]``) to 1-based lines."""
    out: dict[str, int] = {}
    if isinstance(node, yaml.MappingNode):
        for key_node, value_node in node.value:
            path = f"{prefix}{key_node.value}"
            out[path] = value_node.start_mark.line + 1 if isinstance(value_node, yaml.ScalarNode) \
                else key_node.start_mark.line + 1
            out.update(_field_lines(value_node, path + "."))
    elif isinstance(node, yaml.SequenceNode):
        base = prefix.rstrip(".")
        for i, item in enumerate(node.value):
            out[f"{base}[{i}]"] = item.start_mark.line + 1
            out.update(_field_lines(item, f"{base}[{i}]."))
    return out


def _duplicate_keys(node: yaml.Node) -> list[tuple[str, int]]:
    dups: list[tuple[str, int]] = []
    if isinstance(node, yaml.MappingNode):
        seen: set[str] = set()
        for key_node, value_node in node.value:
            if key_node.value in seen:
                dups.append((key_node.value, key_node.start_mark.line + 1))
            seen.add(key_node.value)
            dups += _duplicate_keys(value_node)
    return dups


def _mapping_value(node: yaml.Node, key: str) -> yaml.Node | None:
    if isinstance(node, yaml.MappingNode):
        for key_node, value_node in node.value:
            if key_node.value == key:
                return value_node
    return None


def _key_line(node: yaml.Node, key: str) -> int:
    if isinstance(node, yaml.MappingNode):
        for key_node, _ in node.value:
            if key_node.value == key:
                return int(key_node.start_mark.line) + 1
    return int(node.start_mark.line) + 1


# --------------------------------------------------------------------------- validation


def validate_library(root: Path | str | None = None) -> list[Problem]:
    """Structural problems plus content-rule problems, sorted by file and line."""
    from coach.compliance import load_rules
    from coach.compliance.engine import RULES_PATH

    library = load_library(root)
    problems = list(library.problems)
    # the shared rule file must agree with its own examples
    problems += [Problem(str(RULES_PATH.name), 1, f"rule example: {message}")
                 for message in load_rules().example_problems()]
    rules = _rules()
    for script in library.scripts:
        problems += check_script(script, library.field_lines.get(script.id, {}), rules=rules)
    return sorted(problems)


def check_script(script: Script, lines: dict[str, int] | None = None, *,
                 rules: _Rules | None = None) -> list[Problem]:
    """Content rules for one (schema-valid) script; also usable for DB team scripts."""
    rules = rules or _rules()
    lines = lines or {}
    name = script.source_file or f"<script {script.id}>"
    base = script.source_line or 1

    def at(path: str, message: str) -> Problem:
        return Problem(name, _nearest_line(lines, path, base), f"script {script.id!r}: {message}")

    problems = [at(path, msg) for path, msg in _shape_problems(script)]
    for path, text in script.text_fields():
        if path.startswith("triggers"):  # what customers say, not what advisors say
            continue
        for message in rules.violations(text, tags=script.tags):
            problems.append(at(path, f"{path}: {message}"))
        for message in typography_problems(text):
            problems.append(at(path, f"{path}: {message}"))
    problems += [at(path, msg) for path, msg in _variable_problems(script)]
    return problems


def _shape_problems(script: Script) -> list[tuple[str, str]]:
    out: list[tuple[str, str]] = []
    if not script.triggers:
        out.append(("triggers", "needs at least one trigger phrase"))
    if script.is_objection:
        if script.steps is None:
            out.append(("id", "objection scripts need all five steps "
                              "(restate, acknowledge, compliment, answer, advance)"))
        if script.say is not None:
            out.append(("say", "objection scripts use 'steps', not 'say'"))
        if script.en is not None and script.en.steps is None:
            out.append(("en", "English version of an objection needs 'steps'"))
    else:
        if script.say is None:
            out.append(("id", f"{script.category} scripts need a 'say' text"))
        if script.steps is not None:
            out.append(("steps", "only objection scripts use 'steps'; use 'say'"))
        if script.en is not None and script.en.say is None:
            out.append(("en", "English version needs 'say'"))
    if script.en is not None and script.en.steps is not None and script.en.say is not None:
        out.append(("en", "English version has both 'steps' and 'say'"))
    return out


def coverage_problems(library: Library) -> list[Problem]:
    """What the shared library still lacks: short versions and complete English.

    Kept apart from :func:`check_script` so a team's own script (or a test's
    two-line fixture) is not held to the library's coverage bar.
    """
    out: list[Problem] = []
    for script in library.scripts:
        lines = library.field_lines.get(script.id, {})
        name = script.source_file or f"<script {script.id}>"

        def at(path: str, message: str, script: Script = script, lines: dict[str, int] = lines,
               name: str = name) -> Problem:
            return Problem(name, _nearest_line(lines, path, script.source_line or 1),
                           f"script {script.id!r}: {message}")

        if script.is_objection and not script.short:
            out.append(at("id", "objection scripts need a 'short' one-breath version"))
        for missing in script.missing_translation("en"):
            out.append(at("en" if script.en is not None else "id",
                          f"incomplete English version: {missing} missing"))
    return sorted(out)


# what shows up literally in a chat message when a writer escaped or quoted by hand
_ESCAPES = (("\\n", "literal \\n"), ("\\t", "literal \\t"), ('\\"', 'literal \\"'),
            ("\\'", "literal \\'"), ("\\u", "literal \\u escape"))
# (’ doubles as the English apostrophe, so single curly quotes are not paired)
_QUOTE_PAIRS = (("“", "”"), ("「", "」"), ("『", "』"), ("《", "》"), ("（", "）"),
                ("(", ")"))


def typography_problems(text: str) -> list[str]:
    """Stray escape sequences and unmatched quotes/brackets that would show in a message."""
    out: list[str] = []
    for kind, token in typography_findings(text):
        if kind == "escape":
            out.append(f"{dict(_ESCAPES)[token]} would show in the message")
        elif kind == "backslash":
            out.append("stray backslash would show in the message")
        else:
            out.append(f"unmatched {token} quote" if token == '"' else f"unmatched {token} quotes")
    return out


def typography_findings(text: str) -> list[tuple[str, str]]:
    """:func:`typography_problems` as ``(kind, token)``: ``escape`` ``\\n``, ``backslash``,
    ``unmatched`` ``“”`` — language-neutral, so a chat can explain them in the reader's words."""
    out = [("escape", seq) for seq, _ in _ESCAPES if seq in text]
    if not out and "\\" in text:
        out.append(("backslash", "\\"))
    for left, right in _QUOTE_PAIRS:
        if text.count(left) != text.count(right):
            out.append(("unmatched", left + right))
    # ASCII double quotes pair up; an odd count means one is stray
    if text.count('"') % 2:
        out.append(("unmatched", '"'))
    return out


def _variable_problems(script: Script) -> list[tuple[str, str]]:
    """Declared variables only: any other template syntax is refused (texts are data)."""
    declared = set(script.variables)
    used: dict[str, str] = {}
    out: list[tuple[str, str]] = []
    for var in script.variables:
        if not placeholders.NAME.match(var):
            out.append(("variables", f"variable name {var!r} is not allowed "
                                     "(lower-case letters, digits and _)"))
    for path, text in script.text_fields():
        out += [(path, f"{path}: {message}") for message in placeholders.problems(
            text, declared if not path.startswith("triggers") else ())]
        if path.startswith("triggers"):
            continue
        for var in placeholders.used_variables(text):
            used.setdefault(var, path)
    for var in sorted(declared - used.keys()):
        out.append(("variables", f"variable {var!r} is listed in 'variables' but never used"))
    return out


@dataclass(frozen=True)
class _Rules:
    """Content rules for scripts: the shared mis-selling engine plus competitor names."""

    competitors: list[str]

    def violations(self, text: str, *, tags: Iterable[str] = ()) -> list[str]:
        # imported here: coach.compliance itself imports scripts_library.normalize
        from coach.compliance import load_rules

        rules = load_rules()
        out: list[str] = []
        for kind, rule, words in self.findings(text, tags=tags):
            if kind == "rule":
                title = rules.by_id(rule).title.get("en", rule)
                out.append(f"mis-selling rule {rule} ({title}): {words!r}")
            else:
                out.append(f"names a competitor bank {words!r}")
        return out

    def findings(self, text: str, *, tags: Iterable[str] = ()) -> list[tuple[str, str, str]]:
        """``("rule", rule id, words)`` and ``("competitor", "", name)`` found in ``text``."""
        from coach.compliance import check, load_rules

        norm = normalize(text)
        tagset = set(tags)
        out: list[tuple[str, str, str]] = []
        for finding in check(text, load_rules()):
            # a script about real deposits may say principal and interest are protected
            if finding.rule == "guaranteed_return" and "deposit" in tagset:
                continue
            out.append(("rule", finding.rule, finding.words))
        out += [("competitor", "", c) for c in self.competitors if _contains(norm, c)]
        return out


def _contains(norm: str, phrase: str) -> bool:
    if phrase.isascii():
        return f" {phrase} " in f" {norm} "
    return phrase in norm


def content_findings(text: str, *, tags: Iterable[str] = ()) -> list[tuple[str, str, str]]:
    """The content rules :func:`check_script` applies to one text, structured (see ``findings``)."""
    return _rules().findings(text, tags=tags)


@lru_cache(maxsize=1)
def _rules() -> _Rules:
    data = yaml.safe_load(RULES_FILE.read_text(encoding="utf-8"))
    return _Rules(competitors=[normalize(c) for c in data.get("competitors", [])])
