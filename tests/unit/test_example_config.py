"""The shipped example config is valid and equals the defaults."""

from __future__ import annotations

import tomllib
from pathlib import Path

from reifier.core.config import Settings, resolve


def test_example_config_parses_to_defaults() -> None:
    data = tomllib.loads((Path(__file__).resolve().parents[2] / "reifier.example.toml").read_text())
    assert resolve(toml=data) == Settings()
