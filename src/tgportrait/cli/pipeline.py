"""Commands for pipeline (filled in as the stage lands)."""

from __future__ import annotations

import click

COMMANDS: list[click.Command] = []
