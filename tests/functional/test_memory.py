"""The memory graph, `reifier match`, `reifier graph` and `reifier patrol` on real files."""

from __future__ import annotations

import json
import sqlite3
import subprocess
import time
from pathlib import Path

import pytest

from tests.functional.cli import REIFIER, run
from tests.functional.runbook_factory import approve, make_runbook

DEADLOCK = "ERROR: deadlock detected while waiting for ShareLock on transaction 12345"
DISK = "kernel: EXT4-fs warning (device sda1): ext4_dx_add_entry: Directory index full!"



@pytest.fixture
def ws(reifier_env: dict[str, str]) -> tuple[dict[str, str], Path]:
    root = Path(reifier_env["REIFIER_WORKSPACE"])
    db = make_runbook(root, "fix-db-lockup", symptoms=[DEADLOCK], cells=["systemctl restart app"])
    disk = make_runbook(root, "fix-dir-index", symptoms=[DISK], cells=["echo tune2fs"])
    make_runbook(root, "never-approved", symptoms=["ERROR: out of cheese"])
    approve(reifier_env, db, disk)
    return reifier_env, root


def test_match_instances_and_reject_near_misses(ws: tuple[dict[str, str], Path]) -> None:
    env, _ = ws
    out = json.loads(run("match", "--json",
                         "2026-11-24 10:00:01 UTC [4242] ERROR: deadlock detected while waiting "
                         "for ShareLock on transaction 987654", env=env).stdout)
    top = out["candidates"][0]
    assert top["runbook"] == "fix-db-lockup" and top["score"] >= 0.8
    assert any(v["value"] == "987654" for v in top["variables"])
    assert "deadlock" in top["matched_tokens"]
    near = run("match", "ERROR: deadlock detected while waiting for ExclusiveLock on relation 5",
               env=env, check=False)
    assert near.returncode == 1 and "fix-db-lockup" not in near.stdout  # another lock, another fix
    miss = run("match", "ERROR: could not serialize access due to concurrent update", env=env,
               check=False)
    assert miss.returncode == 1 and "no runbook matches" in miss.stdout
    cheese = run("match", "ERROR: out of cheese", env=env, check=False)
    assert cheese.returncode == 1  # a draft is never suggested


def test_match_file_gives_one_json_object_per_line(ws: tuple[dict[str, str], Path], tmp_path: Path) -> None:
    env, _ = ws
    log = tmp_path / "app.log"
    log.write_text(f"{DEADLOCK}\nall good\nkernel: EXT4-fs warning (device vdb2): ext4_dx_add_entry: Directory index full!\n")
    lines = [json.loads(x) for x in run("match", "--file", str(log), "--json", env=env).stdout.splitlines()]
    assert [bool(x["candidates"]) for x in lines] == [True, False, True]
    assert lines[2]["candidates"][0]["runbook"] == "fix-dir-index"


def test_match_file_streams_lines_and_keeps_json_exact(ws: tuple[dict[str, str], Path],
                                                      tmp_path: Path) -> None:
    env, _ = ws
    log = tmp_path / "crlf.log"
    lines = [f"{DEADLOCK[:-5]}{n:05}" for n in range(3000)] + ["all good", 'quote " and \\ back\u00e9']
    log.write_bytes("\r\n".join(lines).encode() + b"\r\n\xff\xfe junk\r\n")
    got = run("match", "--file", str(log), "--json", env=env).stdout.splitlines()
    assert len(got) == len(lines) + 1  # CRLF ends a line; invalid UTF-8 is replaced, not fatal
    parsed = [json.loads(x) for x in got]
    assert [p["line"] for p in parsed[:-1]] == lines
    assert parsed[-1]["line"] == "\ufffd\ufffd junk"
    assert all(p["candidates"][0]["runbook"] == "fix-db-lockup" for p in parsed[:3000])
    assert parsed[1234]["candidates"][0]["variables"][-1] == {"kind": "NUM", "value": "01234"}
    # the fast writer prints exactly what json.dumps(..., sort_keys=True) would
    assert got == [json.dumps(p, sort_keys=True) for p in parsed]
    text = run("match", "--file", str(log), env=env).stdout
    assert text.count("  1.00  fix-db-lockup  (") == 3000 and "all good" not in text


def test_match_reads_stdin_and_stops_quietly_when_the_reader_goes(ws: tuple[dict[str, str], Path],
                                                                   tmp_path: Path) -> None:
    env, _ = ws
    piped = subprocess.run([*REIFIER, "match", "--file", "-"], input=f"noise\n{DISK}\n",
                           capture_output=True, text=True, env=env)
    assert piped.returncode == 0 and "fix-dir-index" in piped.stdout
    log = tmp_path / "big.log"
    log.write_text(f"{DEADLOCK}\n" * 50_000)
    head = subprocess.run(f"{' '.join(REIFIER)} match --file {log} | head -n 2",
                          shell=True, capture_output=True, text=True, env=env)
    assert head.stdout.count("\n") == 2 and head.stderr == ""  # no BrokenPipe traceback
    bad = run("match", "--file", str(log), "--threshold", "1.5", env=env, check=False)
    assert bad.returncode == 2 and bad.stderr.count("\n") == 1 and "threshold" in bad.stderr
    missing = run("match", "--file", str(tmp_path / "nope.log"), env=env, check=False)
    assert missing.returncode == 2 and "cannot read" in missing.stderr


def test_editing_code_unindexes_runbook(ws: tuple[dict[str, str], Path]) -> None:
    env, root = ws
    nb_path = root / "runbooks" / "drafts" / "fix-db-lockup.ipynb"
    nb = json.loads(nb_path.read_text())
    code = [c for c in nb["cells"] if c["cell_type"] == "code"]
    code[-1]["source"] = "systemctl restart app && rm -rf /var/lib/app"
    nb_path.write_text(json.dumps(nb))
    assert run("match", DEADLOCK, env=env, check=False).returncode == 1
    graph = json.loads(run("graph", "--format", "json", env=env).stdout)
    node = next(n for n in graph["nodes"] if n["kind"] == "Runbook" and n["key"] == "fix-db-lockup")
    assert node["props"]["status"] == "stale"
    assert not [e for e in graph["edges"] if e["dst"] == node["id"] and e["rel"] == "mitigated_by"]


def test_graph_exports(ws: tuple[dict[str, str], Path], tmp_path: Path) -> None:
    import networkx as nx

    env, _ = ws
    graph = json.loads(run("graph", env=env).stdout)
    kinds = {n["kind"] for n in graph["nodes"]}
    assert {"Runbook", "ErrorPattern", "Command"} <= kinds
    deadlock = next(n for n in graph["nodes"] if n["key"] == f"log:{DEADLOCK}")
    # the template is built once, at indexing; matching reads it back
    assert deadlock["props"]["template"]["text"] == (
        "ERROR: deadlock detected while waiting for ShareLock on transaction <NUM>")
    rels = {e["rel"] for e in graph["edges"]}
    assert {"mitigated_by", "contains"} <= rels
    gml = tmp_path / "g.graphml"
    gml.write_text(run("graph", "--format", "graphml", env=env).stdout)
    g = nx.read_graphml(gml)
    assert g.number_of_nodes() == len(graph["nodes"]) and g.number_of_edges() == len(graph["edges"])
    mermaid = run("graph", "--format", "mermaid", env=env).stdout
    assert mermaid.startswith("graph LR") and "-->|mitigated_by|" in mermaid


def suggestions(env: dict[str, str]) -> list[dict[str, object]]:
    db = sqlite3.connect(Path(env["REIFIER_HOME"]) / "reifier.db")
    try:
        return [json.loads(r[0]) for r in db.execute(
            "SELECT payload FROM events WHERE kind='suggestion' ORDER BY id")]
    finally:
        db.close()


def test_patrol_records_suggestions(ws: tuple[dict[str, str], Path], tmp_path: Path) -> None:
    env, _ = ws
    log = tmp_path / "postgres.log"
    log.write_text(f"LOG: checkpoint starting\n{DEADLOCK}\n")
    out = run("patrol", str(log), "--from-start", env=env)
    assert "suggest" in out.stdout and "fix-db-lockup" in out.stdout
    (s,) = suggestions(env)
    assert s["runbook"] == "fix-db-lockup" and s["action"] == "suggest"
    assert s["trigger"]["line"] == DEADLOCK  # type: ignore[index]
    run("patrol", str(log), "--resume", env=env)  # already read: nothing new
    assert len(suggestions(env)) == 1


@pytest.mark.slow
def test_patrol_follow_survives_rotation_and_truncation(ws: tuple[dict[str, str], Path], tmp_path: Path) -> None:
    env, _ = ws
    log = tmp_path / "app.log"
    log.write_text("start\n")
    proc = subprocess.Popen([*REIFIER, "patrol", str(log), "--follow", "--no-run", "--window", "0"],
                            env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        def wait_for(last: str) -> None:
            deadline = time.monotonic() + 20
            while time.monotonic() < deadline and not any(
                    s["trigger"]["line"].endswith(last) for s in suggestions(env)):  # type: ignore[index]
                time.sleep(0.1)
            assert any(s["trigger"]["line"].endswith(last) for s in suggestions(env))  # type: ignore[index]

        assert proc.stderr is not None
        assert "patrolling" in proc.stderr.readline()  # ready: new lines from here on count
        with log.open("a") as fh:
            fh.write(DEADLOCK.replace("12345", "1") + "\n")
        wait_for(" 1")
        log.rename(tmp_path / "app.log.1")  # logrotate: move, then a new file
        log.write_text(DEADLOCK.replace("12345", "2") + "\n")
        wait_for(" 2")
        log.write_text("")  # copytruncate
        with log.open("a") as fh:
            fh.write(DEADLOCK.replace("12345", "3") + "\n")
        wait_for(" 3")
    finally:
        proc.terminate()
        proc.wait(timeout=10)
    lines = [s["trigger"]["line"] for s in suggestions(env)]  # type: ignore[index]
    # at least once: a rewrite racing a read may repeat a line, never lose one
    firsts = list(dict.fromkeys(line[-1] for line in lines))
    assert firsts == ["1", "2", "3"]


@pytest.mark.slow
def test_autonomous_run_then_circuit_breaker(reifier_env: dict[str, str], tmp_path: Path) -> None:
    env = reifier_env
    root = Path(env["REIFIER_WORKSPACE"])
    (root / "reifier.toml").write_text("[autonomy]\nmin_successes = 0\ncooldown_s = 0\n")
    marker = tmp_path / "fixed"
    good = make_runbook(root, "auto-fix", symptoms=["FATAL: widget jammed in slot 7"],
                        cells=['echo fixed > "$OUT"'], params={"OUT": str(marker)}, autonomy="auto")
    bad = make_runbook(root, "auto-broken", symptoms=["FATAL: gadget melted at 451 degrees"],
                       cells=["false"], autonomy="auto")
    approve(env, good, bad)
    log = tmp_path / "app.log"
    log.write_text("FATAL: widget jammed in slot 9\nFATAL: gadget melted at 452 degrees\n")
    out = run("patrol", str(log), "--from-start", env=env).stdout
    assert marker.read_text().strip() == "fixed"
    assert "ran auto-fix" in out
    graph = json.loads(run("graph", env=env).stdout)
    execs = [n for n in graph["nodes"] if n["kind"] == "Execution"]
    assert {e["props"]["status"] for e in execs} == {"ok", "failed"}
    broken = next(n for n in graph["nodes"] if n["kind"] == "Runbook" and n["key"] == "auto-broken")
    assert "failed" in broken["props"]["demoted"]
    # demoted: the next occurrence is only suggested, with the reason recorded
    with log.open("a") as fh:
        fh.write("FATAL: gadget melted at 453 degrees\n")
    run("patrol", str(log), "--resume", env=env)
    last = suggestions(env)[-1]
    assert last["runbook"] == "auto-broken" and last["action"] == "suggest"
    assert "demoted" in str(last["reason"])
