"""Tokens of the SOQL subset, its literals, and its errors (with Salesforce's pointer to the
offending row and column)."""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass

from revstack.errors import TerminalApiError


class SoqlError(TerminalApiError):
    """A query the fake cannot run, with Salesforce's error code and the offending position."""

    def __init__(self, code: str, message: str, text: str = "", pos: int | None = None) -> None:
        super().__init__(pointed(text, pos) + message, status=400, code=code)


def pointed(text: str, pos: int | None) -> str:
    """Salesforce's error prefix: the query line, a caret under the error, its row and column."""
    if pos is None or not text:
        return ""
    line_start = text.rfind("\n", 0, pos) + 1
    line_end = text.find("\n", pos)
    line = text[line_start : line_end if line_end >= 0 else len(text)]
    row = text.count("\n", 0, pos) + 1
    column = pos - line_start + 1
    return f"\n{line}\n{' ' * (column - 1)}^\nERROR at Row:{row}:Column:{column}\n"


_TOKEN = re.compile(
    r"""
    (?P<ws>\s+)
  | (?P<string>'(?:[^'\\]|\\.)*')
  | (?P<datetime>\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(?:\.\d{1,3})?(?:Z|[+-]\d{2}:?\d{2}))
  | (?P<date>\d{4}-\d{2}-\d{2}(?![\w:]))
  | (?P<number>[+-]?(?:\d+\.?\d*|\.\d+)(?![\w.]))
  | (?P<name>[A-Za-z_][\w.]*)
  | (?P<op>!=|<>|<=|>=|=|<|>)
  | (?P<punct>[(),:])
    """,
    re.VERBOSE,
)
_ESCAPES = {"n": "\n", "r": "\r", "t": "\t", "b": "\b", "f": "\f", '"': '"', "'": "'", "\\": "\\"}


@dataclass(frozen=True)
class Token:
    kind: str
    text: str
    pos: int

    @property
    def upper(self) -> str:
        return self.text.upper() if self.kind == "name" else ""


def tokens(text: str) -> list[Token]:
    """The query's tokens, ending with an ``end`` token."""
    found: list[Token] = []
    pos = 0
    while pos < len(text):
        match = _TOKEN.match(text, pos)
        if match is None:
            raise SoqlError("MALFORMED_QUERY", f"unexpected character: '{text[pos]}'", text, pos)
        kind = match.lastgroup
        assert kind is not None
        if kind != "ws":
            found.append(Token(kind, match.group(), pos))
        pos = match.end()
    found.append(Token("end", "", len(text)))
    return found


def unquote(raw: str, *, pattern: bool = False) -> str:
    """A string literal's value; with `pattern`, keep the escapes LIKE needs."""
    kept = ("%", "_", "\\") if pattern else ()

    def escape(match: re.Match[str]) -> str:
        char = match.group(1)
        return "\\" + char if char in kept else _ESCAPES.get(char, char)

    return re.sub(r"\\(.)", escape, raw[1:-1])


def parse_datetime(raw: str) -> dt.datetime:
    """A SOQL dateTime literal (``Z``, ``+hh:mm`` or ``+hhmm`` offset) as a UTC datetime."""
    text = raw.replace("Z", "+00:00")
    if re.search(r"[+-]\d{4}$", text):
        text = text[:-2] + ":" + text[-2:]
    return dt.datetime.fromisoformat(text).astimezone(dt.UTC)
