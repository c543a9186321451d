"""Shared pytest fixtures: the shared fixtures directory and an isolated Reifier home."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
FIXTURES = ROOT.parent / "shared" / "fixtures"


@pytest.fixture(scope="session")
def fixtures_dir() -> Path:
    """Return ``../shared/fixtures`` (real-world inputs shared by the project)."""
    assert FIXTURES.is_dir(), f"shared fixtures missing at {FIXTURES}"
    return FIXTURES


@pytest.fixture
def reifier_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[dict[str, str]]:
    """Point REIFIER_HOME and REIFIER_WORKSPACE at fresh temp dirs; return the env."""
    home = tmp_path / "home"
    ws = tmp_path / "ws"
    home.mkdir()
    ws.mkdir()
    monkeypatch.setenv("REIFIER_HOME", str(home))
    monkeypatch.setenv("REIFIER_WORKSPACE", str(ws))
    env = dict(os.environ)
    yield env
