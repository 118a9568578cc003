"""Stripe's form encoding: ``a[b][c]=x``, ``items[0][price]=p``, ``expand[]=x`` to nested data,
and typed, validating access to the decoded parameters."""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qsl

from revstack.sandbox.fakes.stripe.errors import (
    StripeRequestError,
    invalid_integer,
    invalid_parameter,
    missing_parameter,
    unknown_parameter,
)

_KEY = re.compile(r"^([^\[\]]+)((?:\[[^\[\]]*\])*)$")
_APPEND = object()


def parse_pairs(text: str | bytes) -> list[tuple[str, str]]:
    if isinstance(text, bytes):
        text = text.decode("utf-8", errors="replace")
    return parse_qsl(text, keep_blank_values=True)


def _split(key: str) -> list[str]:
    match = _KEY.match(key)
    if match is None:
        raise StripeRequestError(f"Invalid parameter name: {key}", param=key)
    parts = [match.group(1)]
    if match.group(2):
        parts.extend(part[1:] for part in re.findall(r"\[[^\[\]]*", match.group(2)))
    return parts


def decode(pairs: Iterable[tuple[str, str]]) -> dict[str, Any]:
    """Nested dicts and lists from form pairs; indexed and ``[]`` keys become lists."""
    root: dict[str, Any] = {}
    for key, value in pairs:
        parts = _split(key)
        node: dict[Any, Any] = root
        for depth, part in enumerate(parts):
            last = depth == len(parts) - 1
            slot: Any = part
            if part == "":
                slot = (_APPEND, len(node))
            if last:
                if isinstance(node.get(slot), dict):
                    raise StripeRequestError(f"Invalid value for {key}: expected a hash", param=key)
                node[slot] = value
            else:
                child = node.setdefault(slot, {})
                if not isinstance(child, dict):
                    raise StripeRequestError(f"Invalid value for {key}: expected a hash", param=key)
                node = child
    return _listify(root)


def _listify(node: dict[Any, Any]) -> dict[str, Any]:
    return {str(key): _convert(value) for key, value in node.items()}


def _convert(value: Any) -> Any:
    if not isinstance(value, dict):
        return value
    keys = list(value)
    if keys and all(isinstance(k, tuple) or (isinstance(k, str) and k.isdigit()) for k in keys):
        ordered = sorted(keys, key=lambda k: k[1] if isinstance(k, tuple) else int(k))
        return [_convert(value[k]) for k in ordered]
    return {str(k): _convert(v) for k, v in value.items()}


class Params:
    """Decoded parameters of one request (or of one nested hash), with Stripe's validation."""

    def __init__(self, data: dict[str, Any], prefix: str = "") -> None:
        self.data = data
        self.prefix = prefix

    def name(self, key: str) -> str:
        return f"{self.prefix}[{key}]" if self.prefix else key

    def __contains__(self, key: str) -> bool:
        return key in self.data

    def keys(self) -> list[str]:
        return list(self.data)

    def check(self, allowed: Iterable[str]) -> None:
        allowed = set(allowed)
        for key in self.data:
            if key not in allowed:
                raise unknown_parameter(self.name(key))

    def raw(self, key: str) -> Any:
        return self.data.get(key)

    def string(self, key: str, *, required: bool = False, max_length: int = 5000) -> str | None:
        value = self.data.get(key)
        if value is None:
            if required:
                raise missing_parameter(self.name(key))
            return None
        if not isinstance(value, str):
            raise invalid_parameter(self.name(key), f"Invalid string: {self.name(key)}")
        if len(value) > max_length:
            raise invalid_parameter(
                self.name(key),
                f"Invalid string: {self.name(key)}; must be at most {max_length} characters",
            )
        if required and value == "":
            raise missing_parameter(self.name(key))
        return value

    def integer(
        self, key: str, *, required: bool = False, minimum: int | None = None
    ) -> int | None:
        value = self.string(key, required=required)
        if value is None or value == "":
            if required:
                raise missing_parameter(self.name(key))
            return None
        try:
            number = int(value)
        except ValueError:
            raise invalid_integer(self.name(key)) from None
        if minimum is not None and number < minimum:
            raise StripeRequestError(
                f"Invalid {self.name(key)}: must be greater than or equal to {minimum}",
                code="parameter_invalid_integer",
                param=self.name(key),
            )
        return number

    def boolean(self, key: str) -> bool | None:
        value = self.string(key)
        if value is None:
            return None
        if value not in ("true", "false"):
            raise StripeRequestError(
                f"Invalid boolean: {value}", code="parameter_invalid_string", param=self.name(key)
            )
        return value == "true"

    def enum(self, key: str, values: Iterable[str], *, required: bool = False) -> str | None:
        value = self.string(key, required=required)
        options = tuple(values)
        if value is not None and value not in options:
            raise StripeRequestError(
                f"Invalid {self.name(key)}: must be one of {', '.join(options)}",
                param=self.name(key),
            )
        return value

    def strings(self, key: str) -> list[str] | None:
        value = self.data.get(key)
        if value is None:
            return None
        if value == "":
            return []
        if isinstance(value, str):
            return [value]
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            raise invalid_parameter(self.name(key), f"Invalid array: {self.name(key)}")
        return list(value)

    def hash(self, key: str) -> Params | None:
        value = self.data.get(key)
        if value is None:
            return None
        if value == "":
            return Params({}, self.name(key))
        if not isinstance(value, dict):
            raise invalid_parameter(self.name(key), f"Invalid hash: {self.name(key)}")
        return Params(value, self.name(key))

    def hashes(self, key: str) -> list[Params] | None:
        value = self.data.get(key)
        if value is None:
            return None
        if not isinstance(value, list) or not all(isinstance(v, dict) for v in value):
            raise invalid_parameter(self.name(key), f"Invalid array: {self.name(key)}")
        return [Params(v, f"{self.name(key)}[{i}]") for i, v in enumerate(value)]

    def metadata(self, key: str = "metadata") -> MetadataChange | None:
        """Metadata changes: an empty value unsets a key; ``metadata=""`` unsets every key."""
        value = self.data.get(key)
        if value is None:
            return None
        if value == "":
            return MetadataChange(clear=True, changes={})
        if not isinstance(value, dict):
            raise invalid_parameter(self.name(key), f"Invalid hash: {self.name(key)}")
        if len(value) > 50:
            raise StripeRequestError("Metadata can have at most 50 keys.", param=self.name(key))
        changes: dict[str, str | None] = {}
        for meta_key, meta_value in value.items():
            if not isinstance(meta_value, str):
                raise invalid_parameter(
                    f"{self.name(key)}[{meta_key}]", "Metadata values must be strings."
                )
            if len(meta_key) > 40:
                raise StripeRequestError(
                    f"Metadata keys can have at most 40 characters: {meta_key}",
                    param=f"{self.name(key)}[{meta_key}]",
                )
            if len(meta_value) > 500:
                raise StripeRequestError(
                    "Metadata values can have at most 500 characters.",
                    param=f"{self.name(key)}[{meta_key}]",
                )
            changes[meta_key] = meta_value or None
        return MetadataChange(clear=False, changes=changes)


@dataclass(frozen=True)
class MetadataChange:
    """What a request does to an object's metadata: `clear` empties it first; a ``None``
    value unsets that key."""

    clear: bool
    changes: dict[str, str | None]

    def apply(self, current: dict[str, str] | None) -> dict[str, str]:
        result = {} if self.clear else dict(current or {})
        for key, value in self.changes.items():
            if value is None:
                result.pop(key, None)
            else:
                result[key] = value
        return result
