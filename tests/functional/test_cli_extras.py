"""`reifier config`, `reifier completion` and the systemd unit example (issue 17)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from reifier.errors import Refused
from tests.functional.cli import run

ROOT = Path(__file__).resolve().parents[2]


def test_config_says_where_each_setting_came_from(reifier_env: dict[str, str]) -> None:
    ws = Path(reifier_env["REIFIER_WORKSPACE"])
    (ws / "reifier.toml").write_text("session_gap_s = 120\n")
    env = {**reifier_env, "REIFIER_MATCH_THRESHOLD": "0.9"}
    data = json.loads(run("config", "--json", env=env).stdout)["settings"]
    assert data["session_gap_s"] == {"value": 120.0, "source": str(ws / "reifier.toml")}
    assert data["match_threshold"]["source"] == "environment (REIFIER_MATCH_THRESHOLD)"
    assert data["cell_timeout_s"] == {"value": 600.0, "source": "default"}
    assert data["autonomy"]["value"]["min_score"] == 0.9


def test_completion_script_completes_commands(reifier_env: dict[str, str]) -> None:
    script = run("completion", "bash", env=reifier_env).stdout
    assert "_REIFIER_COMPLETE" in script and "complete " in script
    # what the script asks the CLI for, as bash would
    env = {**reifier_env, "_REIFIER_COMPLETE": "bash_complete", "COMP_WORDS": "reifier ap",
           "COMP_CWORD": "1"}
    proc = subprocess.run([sys.executable, "-m", "reifier"], env=env, capture_output=True,
                          text=True, check=False)
    assert "approve" in proc.stdout


def test_systemd_unit_example_is_valid() -> None:
    unit = (ROOT / "examples" / "systemd" / "reifier-watch.service").read_text()
    sections = [line for line in unit.splitlines() if line.startswith("[")]
    assert sections == ["[Unit]", "[Service]", "[Install]"]
    assert "ExecStart=" in unit and "reifier watch" in unit


def test_markdown_parse_cache_follows_every_edit(reifier_env: dict[str, str]) -> None:
    import stat

    from reifier.adapters import notebooks
    from tests.functional.runbook_factory import make_runbook

    ws = Path(reifier_env["REIFIER_WORKSPACE"])
    md = make_runbook(ws, "cached", cells=["echo one"])
    first = notebooks.read(md)
    assert notebooks.read(md) == first  # the second read comes from the cache
    cache = Path(reifier_env["REIFIER_HOME"]) / "cache" / "md"
    files = list(cache.glob("*.json"))
    assert files and all(stat.S_IMODE(f.stat().st_mode) == 0o600 for f in files)
    assert stat.S_IMODE(cache.stat().st_mode) == 0o700
    md.write_text(md.read_text().replace("echo one", "echo two"))
    sources = [c["source"] for c in notebooks.read(md)["cells"] if c["cell_type"] == "code"]
    assert "echo two" in sources and "echo one" not in sources
    # a hidden fence is refused every time, never served from the cache
    md.write_text(md.read_text() + "\n<!--\n```bash\nrm -rf /srv\n```\n-->\n")
    for _ in range(2):
        with pytest.raises(Refused, match="does not render"):
            notebooks.read(md)


def test_every_command_help_shows_an_example(reifier_env: dict[str, str]) -> None:
    from click.testing import CliRunner

    from reifier.cli import COMMANDS, cli

    for name in COMMANDS:
        result = CliRunner().invoke(cli, [name, "--help"])
        assert result.exit_code == 0 and "Example" in result.output, name
