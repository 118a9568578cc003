"""A parser for the subset of SOQL the fake Salesforce answers.

``SELECT f1, f2 | COUNT() FROM Object [WHERE ...] [ORDER BY f [ASC|DESC] [NULLS FIRST|LAST], ...]
[LIMIT n] [OFFSET n]``. Conditions compare a field with a literal (``= != <> < <= > >=``),
``[NOT] IN (...)`` or ``LIKE``, combined with ``AND``/``OR``/``NOT`` and parentheses; as in
SOQL, ``AND`` and ``OR`` cannot be mixed without parentheses. Keywords, field and object names
are case-insensitive. Anything else is a `SoqlError` (``MALFORMED_QUERY``) that says so.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from revstack.sandbox.fakes.salesforce.soql_lexer import (
    SoqlError,
    Token,
    parse_datetime,
    tokens,
    unquote,
)

__all__ = [
    "Comparison",
    "Condition",
    "Junction",
    "Literal",
    "Name",
    "Negation",
    "OrderKey",
    "Query",
    "SoqlError",
    "parse",
]


@dataclass(frozen=True)
class Name:
    text: str
    pos: int


@dataclass(frozen=True)
class Literal:
    kind: str
    """``string``, ``number``, ``boolean``, ``null``, ``date`` or ``datetime``."""
    value: Any
    """str, int/float, bool, None, ``YYYY-MM-DD`` or a UTC ``datetime``."""
    pos: int
    pattern: str | None = None
    """For strings: the LIKE pattern (``%``/``_`` wildcards; ``\\%``, ``\\_`` and
    ``\\\\`` escaped, as SQL LIKE reads them)."""


@dataclass(frozen=True)
class Comparison:
    field: Name
    op: str
    """``=``, ``!=``, ``<``, ``<=``, ``>``, ``>=``, ``IN``, ``NOT IN`` or ``LIKE``."""
    values: tuple[Literal, ...]


@dataclass(frozen=True)
class Junction:
    op: str
    """``AND`` or ``OR``."""
    parts: tuple[Condition, ...]


@dataclass(frozen=True)
class Negation:
    part: Condition


Condition = Comparison | Junction | Negation


@dataclass(frozen=True)
class OrderKey:
    field: Name
    descending: bool
    nulls_last: bool


@dataclass(frozen=True)
class Query:
    text: str
    fields: tuple[Name, ...] | None
    """The selected fields; None for ``SELECT COUNT()``."""
    sobject: Name
    where: Condition | None
    order_by: tuple[OrderKey, ...]
    limit: int | None
    offset: int | None


_UNSUPPORTED = {
    "GROUP": "GROUP BY",
    "HAVING": "HAVING",
    "WITH": "WITH",
    "FOR": "FOR VIEW/REFERENCE/UPDATE",
    "USING": "USING SCOPE",
    "TYPEOF": "TYPEOF",
    "INCLUDES": "INCLUDES",
    "EXCLUDES": "EXCLUDES",
}
_CLAUSES = ("WHERE", "ORDER", "LIMIT", "OFFSET")


class _Parser:
    def __init__(self, text: str) -> None:
        self.text = text
        self.tokens = tokens(text)
        self.index = 0

    @property
    def token(self) -> Token:
        return self.tokens[self.index]

    def fail(self, message: str, token: Token | None = None) -> SoqlError:
        token = token or self.token
        return SoqlError("MALFORMED_QUERY", message, self.text, token.pos)

    def unexpected(self) -> SoqlError:
        token = self.token
        keyword = token.upper
        if keyword in _UNSUPPORTED:
            return self.fail(f"{_UNSUPPORTED[keyword]} is outside the sandbox's SOQL subset")
        if token.kind == "end":
            return self.fail("unexpected end of query")
        return self.fail(f"unexpected token: '{token.text}'")

    def take(self) -> Token:
        token = self.token
        self.index += 1
        return token

    def accept(self, *keywords: str) -> bool:
        if self.token.upper in keywords:
            self.index += 1
            return True
        return False

    def expect(self, keyword: str) -> None:
        if not self.accept(keyword):
            raise self.unexpected()

    def expect_punct(self, char: str) -> None:
        if self.token.kind != "punct" or self.token.text != char:
            raise self.unexpected()
        self.index += 1

    def name(self) -> Name:
        token = self.token
        if token.kind != "name" or token.upper in ("FROM", *_CLAUSES, "AND", "OR", "NOT"):
            raise self.unexpected()
        if "." in token.text:
            raise self.fail(
                f"relationship field '{token.text}' is outside the sandbox's SOQL subset", token
            )
        self.index += 1
        return Name(token.text, token.pos)

    def parse(self) -> Query:
        self.expect("SELECT")
        fields = self.select_list()
        self.expect("FROM")
        sobject = self.name()
        where = None
        if self.accept("WHERE"):
            where = self.condition()
        order: tuple[OrderKey, ...] = ()
        if self.accept("ORDER"):
            self.expect("BY")
            order = self.order_by()
        limit = self.count_clause("LIMIT")
        offset = self.count_clause("OFFSET")
        if self.token.kind != "end":
            raise self.unexpected()
        return Query(self.text, fields, sobject, where, order, limit, offset)

    def select_list(self) -> tuple[Name, ...] | None:
        if self.token.upper == "COUNT":
            self.index += 1
            self.expect_punct("(")
            if self.token.kind != "punct" or self.token.text != ")":
                raise self.fail("aggregate functions other than COUNT() are outside the subset")
            self.index += 1
            return None
        fields = [self.name()]
        while self.token.kind == "punct" and self.token.text == ",":
            self.index += 1
            fields.append(self.name())
        if self.token.kind == "punct" and self.token.text == "(":
            raise self.fail("functions in SELECT are outside the sandbox's SOQL subset")
        return tuple(fields)

    def condition(self) -> Condition:
        first = self.unary()
        if self.token.upper not in ("AND", "OR"):
            return first
        op = self.token.upper
        parts = [first]
        while self.token.upper in ("AND", "OR"):
            if self.token.upper != op:
                raise self.fail(
                    f"unexpected token: '{self.token.text}' (use parentheses to combine AND "
                    "with OR)"
                )
            self.index += 1
            parts.append(self.unary())
        return Junction(op, tuple(parts))

    def unary(self) -> Condition:
        if self.accept("NOT"):
            return Negation(self.unary())
        if self.token.kind == "punct" and self.token.text == "(":
            self.index += 1
            inner = self.condition()
            self.expect_punct(")")
            return inner
        return self.comparison()

    def comparison(self) -> Comparison:
        field = self.name()
        token = self.token
        if token.kind == "op":
            self.index += 1
            op = "!=" if token.text == "<>" else token.text
            return Comparison(field, op, (self.literal(),))
        if self.accept("LIKE"):
            return Comparison(field, "LIKE", (self.literal(),))
        negated = self.accept("NOT")
        if self.accept("IN"):
            self.expect_punct("(")
            if self.token.upper == "SELECT":
                raise self.fail("semi-joins (IN (SELECT ...)) are outside the sandbox's subset")
            values = [self.literal()]
            while self.token.kind == "punct" and self.token.text == ",":
                self.index += 1
                values.append(self.literal())
            self.expect_punct(")")
            return Comparison(field, "NOT IN" if negated else "IN", tuple(values))
        raise self.unexpected()

    def literal(self) -> Literal:
        token = self.take()
        if token.kind == "string":
            return Literal(
                "string", unquote(token.text), token.pos, unquote(token.text, pattern=True)
            )
        if token.kind == "number":
            number: int | float = (
                float(token.text) if any(c in token.text for c in ".eE") else int(token.text)
            )
            return Literal("number", number, token.pos)
        if token.kind == "date":
            try:
                dt.date.fromisoformat(token.text)
            except ValueError as exc:
                raise self.fail(f"invalid date: {token.text}", token) from exc
            return Literal("date", token.text, token.pos)
        if token.kind == "datetime":
            try:
                return Literal("datetime", parse_datetime(token.text), token.pos)
            except ValueError as exc:
                raise self.fail(f"invalid dateTime: {token.text}", token) from exc
        keyword = token.upper
        if keyword in ("TRUE", "FALSE"):
            return Literal("boolean", keyword == "TRUE", token.pos)
        if keyword == "NULL":
            return Literal("null", None, token.pos)
        if token.kind == "name":
            raise self.fail(
                f"date literals and bind variables ('{token.text}') are outside the sandbox's "
                "SOQL subset",
                token,
            )
        self.index -= 1
        raise self.unexpected()

    def order_by(self) -> tuple[OrderKey, ...]:
        keys = []
        while True:
            field = self.name()
            descending = False
            if self.accept("DESC"):
                descending = True
            else:
                self.accept("ASC")
            nulls_last = descending
            if self.accept("NULLS"):
                if self.accept("LAST"):
                    nulls_last = True
                else:
                    self.expect("FIRST")
                    nulls_last = False
            keys.append(OrderKey(field, descending, nulls_last))
            if not (self.token.kind == "punct" and self.token.text == ","):
                return tuple(keys)
            self.index += 1

    def count_clause(self, keyword: str) -> int | None:
        if not self.accept(keyword):
            return None
        token = self.take()
        if token.kind != "number" or not token.text.isdigit():
            self.index -= 1
            raise self.unexpected()
        return int(token.text)


def parse(text: str) -> Query:
    """Parse a SOQL query of the supported subset, or raise `SoqlError`."""
    if not text.strip():
        raise SoqlError("MALFORMED_QUERY", "unexpected end of query: the query is empty")
    return _Parser(text).parse()
