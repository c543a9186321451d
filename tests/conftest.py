"""Shared pytest fixtures: the shared fixtures directory and an isolated Reifier home."""

from __future__ import annotations

import importlib.util
import os
import subprocess
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType

import pytest

from reifier.core.approval import PERSON_NAMESPACES

ROOT = Path(__file__).resolve().parents[1]
FIXTURES = ROOT.parent / "shared" / "fixtures"


@pytest.fixture(scope="session")
def fixtures_dir() -> Path:
    """Return ``../shared/fixtures`` (real-world inputs shared by the project)."""
    assert FIXTURES.is_dir(), f"shared fixtures missing at {FIXTURES}"
    return FIXTURES


def load_benchmark(name: str) -> ModuleType:
    """Import ``benchmarks/<name>.py`` (not a package) so a test can reuse its evaluation."""
    spec = importlib.util.spec_from_file_location(name, ROOT / "benchmarks" / f"{name}.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def new_key(folder: Path, comment: str) -> Path:
    """Make a real ed25519 key with OpenSSH's ssh-keygen (no passphrase) in ``folder``."""
    key = folder / "id_ed25519"
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", comment, "-f", str(key)],
                   check=True)
    return key


@pytest.fixture(scope="session")
def approver_key(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The key the tests approve with."""
    return new_key(tmp_path_factory.mktemp("ssh"), "tests")


@pytest.fixture(scope="session")
def second_key(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A second approver's key (four-eyes: autonomy: auto needs two distinct keys)."""
    return new_key(tmp_path_factory.mktemp("ssh2"), "second")


def trust_key(ws: Path, key: Path, principals: str = "*") -> None:
    """Add ``key`` to the workspace's allowed_signers for ``principals`` (a pattern list)."""
    signers = ws / "runbooks" / "allowed_signers"
    signers.parent.mkdir(parents=True, exist_ok=True)
    pub = key.with_suffix(".pub").read_text()
    line = f'{principals} namespaces="{PERSON_NAMESPACES}" {pub}'
    with signers.open("a", encoding="utf-8") as fh:
        fh.write(line if line.endswith("\n") else line + "\n")


def signing_env(env: dict[str, str], ws: Path, key: Path, second: Path) -> dict[str, str]:
    """Return ``env`` signing with ``key`` (and ``second`` for four-eyes), both trusted in ``ws``."""
    trust_key(ws, key)
    trust_key(ws, second)
    return {**env, "REIFIER_SIGNING_KEY": str(key), "REIFIER_TEST_SECOND_KEY": str(second)}


@pytest.fixture
def reifier_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, approver_key: Path,
                second_key: Path) -> Iterator[dict[str, str]]:
    """Point REIFIER_HOME and REIFIER_WORKSPACE at fresh temp dirs; return the env.

    Approvals are SSH signatures (the default): the session's test key signs, and the
    workspace's allowed_signers trusts it for any principal name (tests that check
    principals write their own allowed_signers).
    """
    home = tmp_path / "home"
    ws = tmp_path / "ws"
    home.mkdir()
    ws.mkdir()
    trust_key(ws, approver_key)
    trust_key(ws, second_key)
    monkeypatch.setenv("REIFIER_HOME", str(home))
    monkeypatch.setenv("REIFIER_WORKSPACE", str(ws))
    monkeypatch.setenv("REIFIER_SIGNING_KEY", str(approver_key))
    monkeypatch.setenv("REIFIER_TEST_SECOND_KEY", str(second_key))  # for runbook_factory
    env = dict(os.environ)
    yield env
