"""The shipped example runbooks: valid under nbval, and doing what they say.

nbval runs in ``--nbval-lax`` mode: every cell must run without error with the
default parameters (scratch directories under /tmp), but outputs are not
compared, since ``df``, pids and listening sockets differ from box to box.
The behaviour tests approve copies with the test key and run them with
parameters pointing into a temp dir.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from reifier.adapters import notebooks
from reifier.adapters.settings import load_context
from tests.functional.test_approve_cli import invoke

pytestmark = pytest.mark.slow
ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = ROOT / "runbooks" / "approved"
NAMES = ("clear-stale-lock", "free-space-old-logs", "port-in-use")


@pytest.fixture
def kernel_env(reifier_env: dict[str, str], monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    """Make the reifier-bash kernel findable from the repository."""
    monkeypatch.setenv("JUPYTER_PATH", str(ROOT))
    return dict(os.environ)


def test_examples_are_paired_and_shipped_as_drafts() -> None:
    for name in NAMES:
        md, ipynb = (EXAMPLES / f"{name}{s}" for s in (".md", ".ipynb"))
        a, b = notebooks.read(md), notebooks.read(ipynb)
        assert [c["source"] for c in a["cells"]] == [c["source"] for c in b["cells"]]
        meta = notebooks.reifier_meta(a)
        assert meta["id"] == name and meta["status"] == "draft"  # trust is granted locally
        tags = [t for c in a["cells"] for t in c.get("metadata", {}).get("tags", [])]
        assert "parameters" in tags and "precondition" in tags


def test_examples_pass_nbval(kernel_env: dict[str, str], tmp_path: Path) -> None:
    for name in NAMES:
        (tmp_path / f"{name}.ipynb").write_bytes((EXAMPLES / f"{name}.ipynb").read_bytes())
    (tmp_path / "pytest.ini").write_text("[pytest]\n")
    proc = subprocess.run(
        [sys.executable, "-m", "pytest", "--nbval-lax", "-q", "-p", "no:cacheprovider",
         "-c", str(tmp_path / "pytest.ini"), "--rootdir", str(tmp_path),
         *(str(tmp_path / f"{n}.ipynb") for n in NAMES)],
        capture_output=True, text=True, cwd=tmp_path, env=kernel_env, check=False)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-2000:]
    assert "passed" in proc.stdout and "failed" not in proc.stdout


def approved_copy(name: str) -> Path:
    """Copy one example into the temp workspace and approve it there."""
    dest = load_context().runbooks / "approved"
    dest.mkdir(parents=True, exist_ok=True)
    for suffix in (".md", ".ipynb"):
        (dest / f"{name}{suffix}").write_bytes((EXAMPLES / f"{name}{suffix}").read_bytes())
    result = invoke("approve", str(dest / f"{name}.md"), "--by", "maintainer")
    assert result.exit_code == 0, result.output
    return dest / f"{name}.md"


def run_json(*args: str) -> tuple[int, dict[str, object], str]:
    """Run ``reifier run --json``; return exit code, result and the record's stream text."""
    result = invoke("run", *args, "--json")
    data = json.loads(result.stdout)
    nb = json.loads(Path(str(data["record"])).read_text())
    text = "".join("".join(o.get("text", "")) for c in nb["cells"] for o in c.get("outputs", []))
    return result.exit_code, data, text


def test_stale_lock_is_cleared_only_when_no_live_process_holds_it(
    kernel_env: dict[str, str], tmp_path: Path
) -> None:
    path = approved_copy("clear-stale-lock")
    svc = tmp_path / "svc"
    svc.mkdir()
    lock = svc / "service.lock"
    lock.write_text(f"{os.getpid()}\n")  # held by a live process: this test
    code, data, _ = run_json(str(path), "-p", "SERVICE_DIR", str(svc))
    assert code == 1 and data["status"] == "precondition-failed"
    assert lock.read_text() == f"{os.getpid()}\n"
    lock.write_text("999999999\n")  # above any pid_max: nobody holds it
    code, data, text = run_json(str(path), "-p", "SERVICE_DIR", str(svc))
    assert code == 0, data
    assert lock.read_text().strip() not in {"999999999", ""}
    assert (svc / "service.started").exists() and "service up" in text


def test_old_rotated_logs_are_deleted_and_nothing_else(
    kernel_env: dict[str, str], tmp_path: Path
) -> None:
    path = approved_copy("free-space-old-logs")
    logs = tmp_path / "logs"
    logs.mkdir()
    old = time.time() - 30 * 86400
    for name in ("app.log.1.gz", "app.log.2.gz", "app.log", "keep.txt"):
        (logs / name).write_text("x" * 100)
        os.utime(logs / name, (old, old))
    (logs / "app.log.0.gz").write_text("recent")
    code, data, text = run_json(str(path), "-p", "LOG_DIR", str(logs), "-p", "DAYS", "7")
    assert code == 0, data
    assert sorted(p.name for p in logs.iterdir()) == ["app.log", "app.log.0.gz", "keep.txt"]
    assert "app.log.1.gz" in text
    refused = invoke("run", str(path), "-p", "LOG_DIR", str(logs), "-p", "DAYS", "0; rm -rf /")
    assert refused.exit_code == 3 and "parameter DAYS='0; rm -rf /' refused" in refused.output
    refused = invoke("run", str(path), "-p", "LOG_DIR", "/etc")
    assert refused.exit_code == 3 and "not under /var/log/ or /tmp/" in refused.output


def test_port_in_use_is_found(kernel_env: dict[str, str]) -> None:
    path = approved_copy("port-in-use")
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen()
        port = sock.getsockname()[1]
        code, data, text = run_json(str(path), "-p", "PORT", str(port))
    assert code == 0, data
    assert f"listens on port {port}" in text
    code, data, _ = run_json(str(path), "-p", "PORT", "80$(id)")
    assert code == 1 and data["status"] == "precondition-failed"
