"""Build the CJK font the charts use: a reproducible subset of Noto Sans CJK SC.

    python -m tools.build_font                     # from the system's fonts-noto-cjk
    python -m tools.build_font --source FILE.ttc   # or any Noto Sans CJK OTF/TTC
    python -m tools.build_font --download          # apt-get download fonts-noto-cjk first

Charts (``coach/reports``) must show Chinese on a fresh machine where only
``pip install`` ran, so the repository carries its own font: ``bot/fonts/CoachSansCJK.otf``
with ``bot/fonts/OFL.txt``. It is Noto Sans CJK SC (SIL Open Font License 1.1, from
Debian's ``fonts-noto-cjk``) cut down with fontTools to the characters the charts
can need:

* every character of the message templates and catalogs (titles, category and
  outcome names), of the demo book, and of this module's extra list;
* GB2312 level 1 (the 3,755 most common hanzi), with the Traditional forms
  (OpenCC s2t, s2hk, s2tw) of each, for zh-Hant readers;
* printable ASCII, Latin-1, general punctuation, CJK symbols and fullwidth forms.

Renamed (the OFL asks a Modified Version not to pose as the original, and "Noto" is
Google's trademark): family ``Coach Sans CJK``. The same source and this script give
the same file, byte for byte (fixed timestamps); ``SOURCE.txt`` records what it was
built from.
"""

from __future__ import annotations

import argparse
import hashlib
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
OUT_DIR = ROOT / "bot" / "fonts"
OUT = OUT_DIR / "CoachSansCJK.otf"
FAMILY = "Coach Sans CJK"
SYSTEM_TTC = Path("/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc")
SOURCE_FACE = "Noto Sans CJK SC"
# the Debian package's path of the same collection, for --download
DEB_PATH = "usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc"
# characters names and labels often use beyond GB2312 level 1 (surnames, given names)
EXTRA = ("琳晓峰慧雨淼琰瑾璐婕钰筱昊玥昕翊铖彧煜晗炜珏鑫磊淇汐睿霖琪瑶萱蕾骞岚"
         "赟玮瑜璇琦珂冉娅婧喆皓晟旻韬璟暄懿蔚婉瑛颖桦烨")
# head.created/modified (seconds since 1904), fixed: a rebuild changes no byte
TIMESTAMP = 3_847_651_200  # 2025-12-04


def gb2312_level1() -> set[str]:
    out = set()
    for b1 in range(0xB0, 0xD8):
        for b2 in range(0xA1, 0xFF):
            try:
                out.add(bytes([b1, b2]).decode("gb2312"))
            except UnicodeDecodeError:
                continue
    return out


def traditional_forms(chars: set[str]) -> set[str]:
    import opencc

    text = "".join(sorted(chars))
    out: set[str] = set()
    for config in ("s2t", "s2hk", "s2tw"):
        out |= set(opencc.OpenCC(config).convert(text))
    return out


def project_characters() -> set[str]:
    """Every character the templates, catalogs, demo book and category names use."""
    files = [*ROOT.glob("bot/templates/*.j2"), *ROOT.glob("bot/locale/*/LC_MESSAGES/*.po"),
             ROOT / "storage" / "demo.py", ROOT / "coach" / "vocabulary.py"]
    return {ch for path in files if path.exists() for ch in path.read_text(encoding="utf-8")}


def wanted() -> set[int]:
    chars = gb2312_level1() | set(EXTRA) | project_characters()
    chars |= traditional_forms(chars)
    ranges = [(0x20, 0x7E), (0xA0, 0xFF), (0x2000, 0x206F), (0x2100, 0x214F),
              (0x2190, 0x21FF), (0x2460, 0x24FF), (0x3000, 0x303F), (0xFF00, 0xFFEF)]
    codes = {ord(c) for c in chars if ord(c) >= 0x20}
    for low, high in ranges:
        codes |= set(range(low, high + 1))
    return codes


def _face(path: Path) -> int:
    """The index of Noto Sans CJK SC in a collection (0 for a single font)."""
    from fontTools.ttLib import TTCollection

    if path.suffix.lower() != ".ttc":
        return 0
    for i, font in enumerate(TTCollection(str(path), lazy=True).fonts):
        if font["name"].getDebugName(1) == SOURCE_FACE:
            return i
    sys.exit(f"{path}: no {SOURCE_FACE} face in this collection")


def download(folder: Path) -> Path:
    """``apt-get download fonts-noto-cjk`` (Debian's registry) and unpack the collection."""
    subprocess.run(["apt-get", "download", "fonts-noto-cjk"], cwd=folder, check=True)
    deb = next(folder.glob("fonts-noto-cjk_*.deb"))
    subprocess.run(["dpkg-deb", "-x", str(deb), str(folder / "x")], check=True)
    return folder / "x" / DEB_PATH


def debian_version(source: Path) -> str:
    """The fonts-noto-cjk package version the source came from, when dpkg knows it."""
    if source != SYSTEM_TTC:
        deb = next(source.parents[len(Path(DEB_PATH).parts) - 1].glob("../fonts-noto-cjk_*.deb"),
                   None)
        return deb.name.split("_")[1] if deb else "?"
    result = subprocess.run(["dpkg-query", "-W", "-f", "${Version}", "fonts-noto-cjk"],
                            capture_output=True, text=True, check=False)
    return result.stdout.strip() or "?"


def build(source: Path, out: Path = OUT) -> dict[str, str]:
    from fontTools import subset
    from fontTools.ttLib import TTFont

    font = TTFont(str(source), fontNumber=_face(source), recalcTimestamp=False)
    version = font["name"].getDebugName(5) or "?"
    options = subset.Options()
    options.name_IDs = [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14]
    options.notdef_outline = True
    options.recalc_timestamp = False
    subsetter = subset.Subsetter(options)
    subsetter.populate(unicodes=sorted(wanted()))
    subsetter.subset(font)
    names = font["name"]
    postscript = FAMILY.replace(" ", "") + "-Regular"
    for record in list(names.names):
        if record.nameID in (1, 4, 16):
            names.setName(FAMILY, record.nameID, record.platformID, record.platEncID,
                          record.langID)
        elif record.nameID == 6:
            names.setName(postscript, 6, record.platformID, record.platEncID, record.langID)
        elif record.nameID == 3:
            names.setName(f"{postscript};subset of {SOURCE_FACE} {version}", 3,
                          record.platformID, record.platEncID, record.langID)
    names.removeNames(nameID=17)
    if "CFF " in font:  # the CFF table names the font too
        cff = font["CFF "].cff
        cff.fontNames = [postscript]
        top = cff.topDictIndex[0]
        top.FullName = FAMILY
        top.FamilyName = FAMILY
    font["head"].created = font["head"].modified = TIMESTAMP
    out.parent.mkdir(parents=True, exist_ok=True)
    font.save(str(out))
    digest = hashlib.sha256(out.read_bytes()).hexdigest()
    return {"source": source.name, "debian_package": f"fonts-noto-cjk {debian_version(source)}",
            "source_version": version,
            "source_sha256": hashlib.sha256(source.read_bytes()).hexdigest(),
            "glyphs": str(len(font.getGlyphOrder())), "characters": str(len(font.getBestCmap())),
            "bytes": str(out.stat().st_size), "sha256": digest}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tools.build_font", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--source", type=Path, default=None)
    parser.add_argument("--download", action="store_true")
    parser.add_argument("--out", type=Path, default=OUT)
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as tmp:
        source = args.source or (download(Path(tmp)) if args.download else SYSTEM_TTC)
        if not source.exists():
            print(f"{source} not found: install fonts-noto-cjk, pass --source or --download",
                  file=sys.stderr)
            return 2
        facts = build(source, args.out)
    (args.out.parent / "SOURCE.txt").write_text(
        "Built by `python -m tools.build_font` (see its docstring) from Debian's\n"
        "fonts-noto-cjk. Licence: OFL.txt beside this file.\n\n"
        + "".join(f"{key}: {value}\n" for key, value in facts.items()), encoding="utf-8")
    print("\n".join(f"{key}: {value}" for key, value in facts.items()))
    return 0


if __name__ == "__main__":
    sys.exit(main())
