"""Reading files that people bring to the import commands.

Spreadsheet programs on Chinese Windows save CSV as GBK, not UTF-8. Rather
than refusing such files, :func:`decode` tries UTF-8 (with or without BOM)
first and then GB18030 (a superset of GBK and GB2312); the result says which
one was used so the command can tell the user. Bytes that are neither are
refused with one clear sentence, never a traceback.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

__all__ = ["FileProblem", "TextFile", "decode", "read_text"]

# a line of text that decodes as GB18030 by accident is mostly not Chinese
_CJK = re.compile(r"[\u3000-\u303f\u4e00-\u9fff\uff00-\uffef]")
_HIGH = re.compile(r"[^\x00-\x7f]")


class FileProblem(Exception):
    """The file cannot be read as text; ``str(err)`` is the explanation."""


@dataclass(frozen=True, slots=True)
class TextFile:
    text: str
    encoding: str  # "utf-8" or "gbk"


def decode(data: bytes) -> TextFile:
    """UTF-8 (BOM allowed) or GBK/GB18030 text; raises :class:`FileProblem` otherwise."""
    if b"\x00" in data:
        raise FileProblem("the file is binary (contains NUL bytes), not a text file")
    try:
        return TextFile(data.decode("utf-8-sig"), "utf-8")
    except UnicodeDecodeError:
        pass
    try:
        text = data.decode("gb18030")
    except UnicodeDecodeError:
        raise FileProblem("the file is neither UTF-8 nor GBK text; "
                          "save it as 'CSV UTF-8' and try again") from None
    high = _HIGH.findall(text)
    # random bytes can decode as GB18030; real GBK files are Chinese text
    if high and len(_CJK.findall(text)) < 0.8 * len(high):
        raise FileProblem("the file is neither UTF-8 nor GBK text; "
                          "save it as 'CSV UTF-8' and try again")
    return TextFile(text, "gbk")


def read_text(path: Path, *, max_bytes: int) -> TextFile:
    """Read and decode ``path``; too large, unreadable or undecodable files raise FileProblem."""
    try:
        size = path.stat().st_size
        if size > max_bytes:
            raise FileProblem(f"the file is too large ({size:,} bytes; at most {max_bytes:,})")
        return decode(path.read_bytes())
    except OSError as exc:
        raise FileProblem(f"cannot read the file: {exc.strerror or exc}") from None
