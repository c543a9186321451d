"""The scribe reads the machine: log symptoms in the session's window, related files."""

from __future__ import annotations

import json
import time
from datetime import UTC, datetime
from pathlib import Path

from tests.functional.cli import run


def _iso(ts: float) -> str:
    return datetime.fromtimestamp(ts, UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def test_symptom_from_logs_the_session_read_and_related_files(reifier_env: dict[str, str], tmp_path: Path) -> None:
    now = time.time() - 3600
    log = tmp_path / "app.log"
    log.write_text("\n".join([
        f"{_iso(now - 86400)} ERROR worker[7]: disk quota exceeded on /data",  # a day old: outside
        f"{_iso(now - 60)} INFO worker[7]: starting",
        f"{_iso(now - 50)} ERROR worker[7]: connection refused to db-01.internal:5432",
        f"{_iso(now - 40)} ERROR worker[7]: connection refused to db-01.internal:5432",
        f"{_iso(now + 5)} ERROR worker[7]: connection refused to db-01.internal:5433",
    ]) + "\n")
    deploy = tmp_path / "deploy"
    (deploy / "roles").mkdir(parents=True)
    (deploy / "roles" / "worker.yml").write_text("service: worker\nrestart: always\n")
    (deploy / "README").write_text("nothing relevant\n")
    ws = Path(reifier_env["REIFIER_WORKSPACE"])
    (ws / "reifier.toml").write_text(f'context_dirs = ["{deploy}"]\n')
    hist = tmp_path / "hist"
    hist.write_text(f"#{int(now)}\ntail -n 50 {log}\n#{int(now) + 20}\nsystemctl restart worker\n"
                    f"#{int(now) + 40}\nsystemctl is-active worker\n")
    run("import", str(hist), env=reifier_env)
    out = json.loads(run("draft", "--last", "--json", env=reifier_env).stdout)
    nb = json.loads(Path(out["ipynb"]).read_text())
    symptoms = nb["metadata"]["reifier"]["symptoms"]
    assert symptoms == ["connection refused to db-01.internal:5432"]  # one template, no header
    assert out["id"].startswith("fix-connection-refused-to")
    text = Path(out["md"]).read_text()
    assert f"{deploy / 'roles' / 'worker.yml'}:1" in text  # the service's deploy file
    assert "README" not in text.split("## Related files")[1].split("##")[0]
