"""Message catalog upkeep: find template strings that lack a translation.

    python -m tools.i18n missing          # list msgids without zh_Hans/en translation
    python -m tools.i18n sync FEATURE     # append missing msgids to FEATURE.po
                                          # (en gets msgstr = msgid; zh_Hans empty, to fill in)
    python -m tools.i18n fill FEATURE < translations.yaml
                                          # set zh_Hans msgstr from a YAML {msgid: 中文}
"""

from __future__ import annotations

import sys

from babel.messages.catalog import Catalog
from babel.messages.extract import extract_from_dir
from babel.messages.pofile import read_po, write_po

from bot.i18n import LOCALE_DIR, load_catalog
from bot.render import TEMPLATE_DIR

METHOD_MAP = [("**.j2", "jinja2")]
OPTIONS = {"**.j2": {"extensions": "jinja2.ext.do", "trimmed": "false"}}


def template_msgids() -> dict[str, str]:
    """Every msgid used in a template, with the first file using it."""
    found: dict[str, str] = {}
    for filename, _lineno, message, _comments, _ctx in extract_from_dir(
        TEMPLATE_DIR, METHOD_MAP, OPTIONS
    ):
        ids = message if isinstance(message, tuple) else (message,)
        for msgid in ids:
            if msgid:
                found.setdefault(msgid, filename)
    return found


def missing() -> dict[str, list[str]]:
    load_catalog.cache_clear()
    result: dict[str, list[str]] = {}
    for folder in ("zh_Hans", "en"):
        catalog = load_catalog(folder)
        lacking = []
        for msgid in template_msgids():
            message = catalog.get(msgid)
            if message is None or not message.string:
                lacking.append(msgid)
        result[folder] = lacking
    return result


def sync(feature: str) -> None:
    gaps = missing()
    for folder, msgids in gaps.items():
        path = LOCALE_DIR / folder / "LC_MESSAGES" / f"{feature}.po"
        path.parent.mkdir(parents=True, exist_ok=True)
        if path.exists():
            with path.open("rb") as fh:
                catalog = read_po(fh)
        else:
            catalog = Catalog(locale="en" if folder == "en" else "zh_Hans_CN")
        for msgid in msgids:
            if msgid not in catalog:
                catalog.add(msgid, msgid if folder == "en" else "")
        with path.open("wb") as fh:
            write_po(fh, catalog, width=0, omit_header=False)
        print(f"{path}: +{len(msgids)}")


def fill(feature: str, translations: dict[str, str]) -> None:
    path = LOCALE_DIR / "zh_Hans" / "LC_MESSAGES" / f"{feature}.po"
    with path.open("rb") as fh:
        catalog = read_po(fh)
    for msgid, text in translations.items():
        if msgid in catalog:
            catalog[msgid].string = text
        else:
            catalog.add(msgid, text)
    with path.open("wb") as fh:
        write_po(fh, catalog, width=0)
    print(f"{path}: {len(translations)} set")


def main(argv: list[str]) -> int:
    if argv[:1] == ["missing"]:
        gaps = missing()
        for folder, msgids in gaps.items():
            for msgid in msgids:
                print(f"{folder}: {msgid!r}")
        return 1 if any(gaps.values()) else 0
    if argv[:1] == ["sync"] and len(argv) == 2:
        sync(argv[1])
        return 0
    if argv[:1] == ["fill"] and len(argv) == 2:
        import yaml

        fill(argv[1], yaml.safe_load(sys.stdin.read()) or {})
        return 0
    print(__doc__)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
