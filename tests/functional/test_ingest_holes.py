"""Smaller ingest holes (issue 22): a timestamp in the future is refused with a count."""

from __future__ import annotations

import json
from pathlib import Path

from tests.functional.cli import run


def test_future_timestamps_are_skipped_with_a_count(reifier_env: dict[str, str],
                                                    tmp_path: Path) -> None:
    history = tmp_path / "hist"
    history.write_text("#1700000000\nls -la\n#1700000060\ndf -h\n#4102444800\nrm -rf /tmp/x\n")
    out = run("import", str(history), "--json", env=reifier_env)
    [report] = json.loads(out.stdout)
    assert report["added"] == 2 and report["skipped"] == 1
    assert "timestamp in the future" in json.dumps(report)
    sessions = json.loads(run("sessions", "--json", env=reifier_env).stdout)
    assert [s["commands"] for s in sessions] == [2] and sessions[0]["ended"] < 1800000000
    assert sessions[0]["closed"]  # not held open until 2100
    only_future = tmp_path / "future"
    only_future.write_text("#4102444800\nuptime\n")
    refused = run("import", str(only_future), env=reifier_env, check=False)
    assert refused.returncode == 2 and "timestamp in the future" in refused.stderr


def test_a_command_with_bytes_that_are_not_utf8_drafts_with_a_warning(
        reifier_env: dict[str, str], tmp_path: Path) -> None:
    history = tmp_path / "hist"
    history.write_bytes(b"#1700000000\nsed -i s/a/\xe9/ /etc/app.conf\n"
                        b"#1700000010\nsystemctl restart nginx\n")
    run("import", str(history), env=reifier_env)
    out = json.loads(run("draft", "--last", "--json", env=reifier_env).stdout)
    text = Path(out["md"]).read_text(encoding="utf-8")  # valid UTF-8, nothing lost silently
    assert "sed -i s/a/\ufffd/" in text and "Not UTF-8" in text


def test_a_last_line_without_newline_is_imported_once_complete(
        reifier_env: dict[str, str], tmp_path: Path) -> None:
    history = tmp_path / "hist"
    history.write_text("ls -la\nsystemctl resta")  # being written
    [first] = json.loads(run("import", str(history), "--json", env=reifier_env).stdout)
    assert first["added"] == 1 and first["skipped"] == 1
    with history.open("a") as fh:
        fh.write("rt nginx\n")
    [second] = json.loads(run("import", str(history), "--json", env=reifier_env).stdout)
    assert second["added"] == 1
    session = json.loads(run("sessions", "--json", env=reifier_env).stdout)[0]
    shown = run("session", session["id"], env=reifier_env).stdout
    assert "systemctl restart nginx" in shown and "systemctl resta\n" not in shown
    assert session["commands"] == 2  # no phantom "systemctl resta"
