"""The Search API's query language (the documented subset) and its evaluation.

``field:"value"`` exact match (case-insensitive), ``field~"sub"`` substring (3+ characters),
``field>n`` / ``<`` / ``>=`` / ``<=`` on numbers, ``metadata["key"]:"value"``, ``field:null``,
``-`` to negate a clause; clauses joined by ``AND`` or by ``OR`` (not both), at most ten.
"""

from __future__ import annotations

import base64
import hashlib
import re
from dataclasses import dataclass
from typing import Any

import orjson

from revstack.sandbox.fakes.stripe.errors import StripeRequestError
from revstack.sandbox.fakes.stripe.store import dig

#: Searchable fields per kind: query field -> (path in the object, type).
SEARCH_FIELDS: dict[str, dict[str, tuple[str, str]]] = {
    "customer": {
        "created": ("created", "number"),
        "email": ("email", "string"),
        "name": ("name", "string"),
        "phone": ("phone", "string"),
    },
    "charge": {
        "amount": ("amount", "number"),
        "billing_details.address.postal_code": ("billing_details.address.postal_code", "string"),
        "created": ("created", "number"),
        "currency": ("currency", "string"),
        "customer": ("customer", "string"),
        "disputed": ("disputed", "boolean"),
        "payment_method_details.card.last4": ("payment_method_details.card.last4", "string"),
        "payment_method_details.card.brand": ("payment_method_details.card.brand", "string"),
        "refunded": ("refunded", "boolean"),
        "status": ("status", "string"),
    },
    "invoice": {
        "created": ("created", "number"),
        "currency": ("currency", "string"),
        "customer": ("customer", "string"),
        "number": ("number", "string"),
        "receipt_number": ("receipt_number", "string"),
        "status": ("status", "string"),
        "subscription": ("parent.subscription_details.subscription", "string"),
        "total": ("total", "number"),
    },
    "payment_intent": {
        "amount": ("amount", "number"),
        "created": ("created", "number"),
        "currency": ("currency", "string"),
        "customer": ("customer", "string"),
        "status": ("status", "string"),
    },
    "price": {
        "active": ("active", "boolean"),
        "currency": ("currency", "string"),
        "lookup_key": ("lookup_key", "string"),
        "product": ("product", "string"),
        "type": ("type", "string"),
    },
    "product": {
        "active": ("active", "boolean"),
        "description": ("description", "string"),
        "name": ("name", "string"),
        "shippable": ("shippable", "boolean"),
        "url": ("url", "string"),
    },
    "subscription": {
        "created": ("created", "number"),
        "status": ("status", "string"),
    },
}

_TOKEN = re.compile(
    r"""\s*(?:
        (?P<join>(?i:AND|OR))(?=\s|$)
      | (?P<neg>-)?
        (?:metadata\[(?P<mq>["'])(?P<mkey>.*?)(?P=mq)\]|(?P<field>[A-Za-z_][A-Za-z0-9_.]*))
        (?P<op>:|~|>=|<=|>|<)
        (?:(?P<q>["'])(?P<qvalue>(?:\\.|(?!(?P=q)).)*)(?P=q)|(?P<bare>[^\s"']+))
    )""",
    re.VERBOSE,
)

MAX_CLAUSES = 10


@dataclass(frozen=True)
class Clause:
    field: str
    """Query field, or ``metadata`` with `key` set."""
    key: str | None
    op: str
    value: str | None
    """``None`` for a bare ``null``."""
    quoted: bool
    negated: bool


@dataclass(frozen=True)
class Query:
    clauses: tuple[Clause, ...]
    any_of: bool
    """True when the clauses are joined by OR."""

    def matches(self, doc: dict[str, Any]) -> bool:
        results = (_clause_matches(clause, doc) for clause in self.clauses)
        return any(results) if self.any_of else all(results)


def _bad(message: str) -> StripeRequestError:
    return StripeRequestError(message, code="parameter_invalid_string", param="query")


def parse_query(text: str, kind: str, resource: str) -> Query:
    fields = SEARCH_FIELDS[kind]
    clauses: list[Clause] = []
    joins: set[str] = set()
    position = 0
    expect_clause = True
    text = text.strip()
    if not text:
        raise _bad("The query is empty.")
    while position < len(text):
        match = _TOKEN.match(text, position)
        if match is None or match.end() == position:
            raise _bad(f"Could not parse the query at position {position}: {text[position:]!r}")
        position = match.end()
        if match.group("join"):
            if expect_clause:
                raise _bad(f"Unexpected {match.group('join')} in the query.")
            joins.add(match.group("join").upper())
            expect_clause = True
            continue
        if not expect_clause:
            joins.add("AND")
        expect_clause = False
        key = match.group("mkey")
        field = "metadata" if key is not None else match.group("field")
        if key is None and field not in fields:
            raise _bad(
                f"Field `{field}` is an unsupported search field for resource `{resource}`. "
                f"See https://stripe.com/docs/search#query-fields-for-{resource.replace('_', '-')}"
                " for a list of supported fields."
            )
        quoted = match.group("q") is not None
        value: str | None
        if quoted:
            value = re.sub(r"\\(.)", r"\1", match.group("qvalue"))
        else:
            value = match.group("bare")
            if value == "null":
                value = None
        clauses.append(
            Clause(field, key, match.group("op"), value, quoted, bool(match.group("neg")))
        )
    if expect_clause:
        raise _bad("The query ends with a dangling AND or OR.")
    if len(joins) > 1:
        raise _bad("A query cannot combine AND and OR.")
    if len(clauses) > MAX_CLAUSES:
        raise _bad(f"A query can have at most {MAX_CLAUSES} clauses.")
    for clause in clauses:
        _validate(clause, fields)
    return Query(tuple(clauses), joins == {"OR"})


def _validate(clause: Clause, fields: dict[str, tuple[str, str]]) -> None:
    kind = "string" if clause.field == "metadata" else fields[clause.field][1]
    if clause.op == "~":
        if kind != "string":
            raise _bad(f"`~` only applies to string fields, not `{clause.field}`.")
        if clause.value is None or len(clause.value) < 3:
            raise _bad("Substring matches (`~`) need at least 3 characters.")
    elif clause.op != ":":
        if kind != "number" or clause.value is None or not _is_number(clause.value):
            raise _bad(f"`{clause.op}` only compares numeric fields with numbers.")
    elif kind == "string" and clause.value is not None and not clause.quoted:
        raise _bad(f"The value for `{clause.field}` must be quoted.")
    elif kind == "number" and clause.value is not None and not _is_number(clause.value):
        raise _bad(f"The value for `{clause.field}` must be a number.")


def _is_number(value: str) -> bool:
    try:
        float(value)
    except ValueError:
        return False
    return True


def _clause_matches(clause: Clause, doc: dict[str, Any]) -> bool:
    if clause.field == "metadata":
        actual = (doc.get("metadata") or {}).get(clause.key or "")
    else:
        actual = doc.get(clause.field)
    result = _compare(clause, actual)
    return not result if clause.negated else result


def _compare(clause: Clause, actual: Any) -> bool:
    if clause.value is None:
        return actual is None or actual == ""
    if actual is None:
        return False
    if clause.op == ":":
        if isinstance(actual, bool):
            return clause.value.lower() == ("true" if actual else "false")
        if isinstance(actual, int | float):
            return _is_number(clause.value) and float(clause.value) == actual
        return str(actual).lower() == clause.value.lower()
    if clause.op == "~":
        return clause.value.lower() in str(actual).lower()
    if not isinstance(actual, int | float) or isinstance(actual, bool):
        return False
    number = float(clause.value)
    return {
        ">": actual > number,
        "<": actual < number,
        ">=": actual >= number,
        "<=": actual <= number,
    }[clause.op]


def search_doc(kind: str, obj: dict[str, Any]) -> dict[str, Any]:
    """The searchable fields of an object (what the search index holds for it)."""
    doc = {field: dig(obj, path) for field, (path, _) in SEARCH_FIELDS[kind].items()}
    doc["metadata"] = obj.get("metadata") or {}
    return doc


def page_token(offset: int, query: str) -> str:
    digest = hashlib.sha256(query.encode()).hexdigest()[:12]
    raw = orjson.dumps([offset, digest])
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def page_offset(token: str | None, query: str) -> int:
    if not token:
        return 0
    try:
        padded = token + "=" * (-len(token) % 4)
        offset, digest = orjson.loads(base64.urlsafe_b64decode(padded))
    except (ValueError, TypeError):
        raise StripeRequestError("Invalid page: not a page token.", param="page") from None
    if digest != hashlib.sha256(query.encode()).hexdigest()[:12] or not isinstance(offset, int):
        raise StripeRequestError(
            "Invalid page: the token belongs to a different query.", param="page"
        )
    return offset
