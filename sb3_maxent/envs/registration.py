"""One function registers every environment id of the package with gymnasium (idempotent)."""

from __future__ import annotations


def register_envs() -> None:
    """Register the package's environment ids with gymnasium; calling it twice is harmless."""
