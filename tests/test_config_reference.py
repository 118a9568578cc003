from __future__ import annotations

from pathlib import Path

import pytest

from revstack.config import RevstackConfig
from revstack.config_reference import (
    BEGIN_MARKER,
    END_MARKER,
    render_config_reference,
    replace_reference,
)

README = Path(__file__).resolve().parent.parent / "README.md"


def _leaf_keys(model: type, prefix: str = "") -> list[str]:
    keys = []
    for name, info in model.model_fields.items():  # type: ignore[attr-defined]
        annotation = info.annotation
        if isinstance(annotation, type) and hasattr(annotation, "model_fields"):
            keys += _leaf_keys(annotation, f"{prefix}{name}.")
        else:
            keys.append(prefix + name)
    return keys


def test_every_setting_has_a_description() -> None:
    missing = []

    def walk(model: type) -> None:
        for name, info in model.model_fields.items():  # type: ignore[attr-defined]
            if not info.description:
                missing.append(f"{model.__name__}.{name}")
            annotation = info.annotation
            if isinstance(annotation, type) and hasattr(annotation, "model_fields"):
                walk(annotation)

    walk(RevstackConfig)
    assert missing == []


def test_reference_has_one_row_per_setting() -> None:
    rows = render_config_reference().splitlines()[2:]
    keys = [row.split("|")[1].strip().strip("`") for row in rows]
    assert keys == _leaf_keys(RevstackConfig)


def test_reference_shows_secrets_without_values() -> None:
    reference = render_config_reference()
    row = next(line for line in reference.splitlines() if "`sources.stripe.api_key`" in line)
    assert "| secret |" in row
    assert "`$STRIPE_API_KEY` if set" in row


def test_readme_reference_is_up_to_date() -> None:
    text = README.read_text(encoding="utf-8")
    assert BEGIN_MARKER in text
    assert END_MARKER in text
    if replace_reference(text, render_config_reference()) != text:
        pytest.fail(
            "README.md's configuration reference is out of date with src/revstack/config.py; "
            "run: .venv/bin/python scripts/gen_config_reference.py"
        )


def test_replace_reference_only_touches_the_marked_block() -> None:
    document = f"before\n{BEGIN_MARKER}\nold table\n{END_MARKER}\nafter\n"
    assert replace_reference(document, "new table\n") == (
        f"before\n{BEGIN_MARKER}\nnew table\n{END_MARKER}\nafter\n"
    )
