"""Refresh the configuration reference table in README.md from revstack's config models.

Run after changing a setting in src/revstack/config.py:

    .venv/bin/python scripts/gen_config_reference.py
"""

from __future__ import annotations

import sys
from pathlib import Path

from revstack.config_reference import render_config_reference, replace_reference

README = Path(__file__).resolve().parent.parent / "README.md"


def main() -> int:
    text = README.read_text(encoding="utf-8")
    updated = replace_reference(text, render_config_reference())
    if updated == text:
        print(f"{README.name} is up to date")
    else:
        README.write_text(updated, encoding="utf-8")
        print(f"updated the configuration reference in {README.name}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
