"""``python -m revstack`` runs the ``revstack`` command."""

from __future__ import annotations

from revstack.cli import main

main()
