"""The reifier-bash kernel, run for real through jupyter_client (and papermill).

The spec is installed with the real ``reifier kernel install --prefix`` into a
temp prefix that JUPYTER_PATH points at. Every kernel gets HOME set to a temp
dir holding a marker file, so a guard or quoting bug cannot touch the real home.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from reifier.adapters.kernel import OUTCOMES, KernelSettings, Outcome, allowed_rules
from reifier.cli.kernel import KERNEL_NAME, KERNEL_SPEC
from reifier.core.guard import evaluate
from reifier.core.params import render_parameters_cell

ROOT = Path(__file__).resolve().parents[2]
REIFIER = Path(sys.executable).with_name("reifier")
KERNEL_SETTINGS = ("REIFIER_CELL_TIMEOUT", "REIFIER_GUARD_ALLOW", "REIFIER_GUARD_RESOLVABLE",
                   "REIFIER_GUARD_PARAMS")


@dataclass
class Ran:
    """What one executed cell produced."""

    status: str
    stdout: str = ""
    stderr: str = ""
    errors: list[dict[str, Any]] = field(default_factory=list)
    reply: dict[str, Any] = field(default_factory=dict)


class Kernel:
    """A started reifier-bash kernel and its blocking client."""

    def __init__(self, env: dict[str, str], home: Path) -> None:
        from jupyter_client.manager import KernelManager

        self.home = home
        self.km = KernelManager(kernel_name=KERNEL_NAME)
        self.km.start_kernel(env=env, cwd=str(home))
        self.kc = self.km.client()
        self.kc.start_channels()
        self.kc.wait_for_ready(timeout=60)

    def run(self, code: str, timeout: float = 60, metadata: dict[str, Any] | None = None) -> Ran:
        """Execute ``code`` and collect its streams, errors and reply."""
        content = {"code": code, "silent": False, "store_history": True,
                   "user_expressions": {}, "allow_stdin": False, "stop_on_error": False}
        msg = self.kc.session.msg("execute_request", content, metadata=metadata or {})
        self.kc.shell_channel.send(msg)
        ran = Ran(status="?")
        self.collect(msg["header"]["msg_id"], ran, timeout)
        ran.reply = self.reply(msg["header"]["msg_id"], timeout)
        ran.status = ran.reply["status"]
        return ran

    def reply(self, msg_id: str, timeout: float) -> dict[str, Any]:
        """Return the content of the shell reply to ``msg_id`` (skipping stale replies:
        wait_for_ready may leave an extra kernel_info_reply behind)."""
        while True:
            msg = self.kc.get_shell_msg(timeout=timeout)
            if msg["parent_header"].get("msg_id") == msg_id:
                return dict(msg["content"])

    def collect(self, msg_id: str, ran: Ran, timeout: float) -> None:
        """Read iopub until the kernel is idle for ``msg_id``."""
        while True:
            msg = self.kc.get_iopub_msg(timeout=timeout)
            if msg["parent_header"].get("msg_id") != msg_id:
                continue
            kind, content = msg["msg_type"], msg["content"]
            if kind == "stream":
                setattr(ran, content["name"], getattr(ran, content["name"]) + content["text"])
            elif kind == "error":
                ran.errors.append(content)
            elif kind == "status" and content["execution_state"] == "idle":
                return

    def close(self) -> None:
        """Stop the client and shut the kernel down."""
        self.kc.stop_channels()
        self.km.shutdown_kernel(now=False)


@pytest.fixture(scope="session")
def jupyter_path(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """Install the spec with the real CLI into a temp prefix and point JUPYTER_PATH at it."""
    prefix = tmp_path_factory.mktemp("prefix")
    proc = subprocess.run([str(REIFIER), "kernel", "install", "--prefix", str(prefix), "--json"],
                          capture_output=True, text=True, check=True)
    installed = Path(json.loads(proc.stdout)["resource_dir"])
    assert json.loads((installed / "kernel.json").read_text()) == KERNEL_SPEC
    assert (installed / "logo-64x64.png").read_bytes().startswith(b"\x89PNG")
    data = prefix / "share" / "jupyter"
    mp = pytest.MonkeyPatch()
    mp.setenv("JUPYTER_PATH", str(data))
    yield data
    mp.undo()


def start(tmp: Path, **env: str) -> Kernel:
    """Start a kernel whose HOME and cwd are ``tmp/home`` (with a marker file)."""
    home = tmp / "home"
    home.mkdir(exist_ok=True)
    (home / "MARKER").write_text("keep me\n")
    inherited = {k: v for k, v in os.environ.items() if k not in KERNEL_SETTINGS}
    return Kernel({**inherited, "HOME": str(home), **env}, home)


@pytest.fixture(scope="module")
def kernel(jupyter_path: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Kernel]:
    """One kernel shared by the module's tests that do not need a special environment."""
    k = start(tmp_path_factory.mktemp("k"))
    yield k
    k.close()


def alive(pid: int) -> bool:
    """Return whether ``pid`` runs (a zombie awaiting its parent's wait counts as gone)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat.rsplit(")", 1)[1].split()[0] != "Z"


def bash_pid(k: Kernel) -> int:
    """Return the pid of the kernel's bash (the kernel process's child running bash)."""
    kernel = k.km.provisioner.process.pid
    kids = Path(f"/proc/{kernel}/task/{kernel}/children").read_text().split()
    bashes = [int(p) for p in kids if Path(f"/proc/{p}/comm").read_text().strip() == "bash"]
    assert len(bashes) == 1, bashes
    return bashes[0]


def wait_gone(pid: int, within: float = 10.0) -> bool:
    """Poll until ``pid`` is gone (a generous bound, not a timing assertion)."""
    deadline = time.monotonic() + within
    while alive(pid) and time.monotonic() < deadline:
        time.sleep(0.05)
    return not alive(pid)


# --- output and state ---------------------------------------------------------------


def test_stdout_and_stderr_are_separate_streams(kernel: Kernel) -> None:
    ran = kernel.run("echo out; echo err >&2; echo out2")
    assert ran.status == "ok"
    assert ran.stdout == "out\nout2\n"
    assert ran.stderr == "err\n"


def test_kernel_info_describes_bash(kernel: Kernel) -> None:
    info = kernel.kc.kernel_info(reply=True, timeout=30)["content"]
    lang = info["language_info"]
    assert lang["name"] == "bash" and lang["file_extension"] == ".sh"
    assert lang["mimetype"] == "text/x-sh" and lang["codemirror_mode"] == "shell"
    assert lang["pygments_lexer"] == "bash" and lang["version"]
    assert info["implementation"] == "reifier-bash"


def test_state_persists_across_cells(kernel: Kernel, tmp_path: Path) -> None:
    assert kernel.run(f"X=41; cd {tmp_path}; f() {{ echo $((X + 1)); }}; declare -A M=([k]=v)").status == "ok"
    ran = kernel.run("f; pwd; echo ${M[k]}")
    assert ran.status == "ok"
    assert ran.stdout == f"42\n{tmp_path}\nv\n"


def test_environment_is_non_interactive(kernel: Kernel) -> None:
    ran = kernel.run('echo "$TERM $NO_COLOR $PAGER $GIT_PAGER [$SYSTEMD_PAGER] $DEBIAN_FRONTEND"; [ -t 0 ] || echo no-tty')
    assert ran.stdout == "dumb 1 cat cat [] noninteractive\nno-tty\n"


# --- failures -----------------------------------------------------------------------


def test_first_failing_command_stops_the_cell(kernel: Kernel) -> None:
    ran = kernel.run("echo before; false; echo after")
    assert ran.status == "error"
    assert ran.stdout == "before\n"
    assert ran.reply["ename"] == "CellFailed"
    assert ran.reply["evalue"] == "exit status 1 from: false"
    assert [e["ename"] for e in ran.errors] == ["CellFailed"]


def test_failure_reports_status_and_command(kernel: Kernel) -> None:
    ran = kernel.run("grep foo /nope")
    assert ran.reply["evalue"] == "exit status 2 from: grep foo /nope"
    assert "No such file" in ran.stderr


def test_pipefail_any_failing_stage_fails(kernel: Kernel) -> None:
    ran = kernel.run("false | true\necho after")
    assert ran.status == "error" and "after" not in ran.stdout
    assert ran.reply["evalue"] == "exit status 1 from: false | true"
    assert "  pipeline statuses: 1 0" in ran.reply["traceback"]


def test_failure_inside_a_function_stops_the_cell(kernel: Kernel) -> None:
    ran = kernel.run("g() { echo in; false; echo rest; }\ng\necho after")
    assert ran.status == "error" and ran.stdout == "in\n"
    assert ran.reply["evalue"] == "exit status 1 from: false"


@pytest.mark.parametrize(
    "code",
    [
        "grep -q x /nonexistent 2>/dev/null || echo handled",
        "if false; then :; fi",
        "! false",
        "while false; do :; done",
        "false && echo never; true",
        "x=$(false) || true",
    ],
)
def test_handled_failures_do_not_fail(kernel: Kernel, code: str) -> None:
    ran = kernel.run(code + "\necho end")
    assert ran.status == "ok", ran.reply
    assert ran.stdout.endswith("end\n")


def test_exit_is_reported_and_next_cell_gets_a_fresh_bash(kernel: Kernel) -> None:
    assert kernel.run("KEEP=1").status == "ok"
    ran = kernel.run("echo bye; exit 3")
    assert ran.status == "error" and ran.stdout == "bye\n"
    assert ran.reply["ename"] == "BashExited"
    assert "status 3" in ran.reply["evalue"] and "lost" in ran.reply["evalue"]
    after = kernel.run('echo "[${KEEP:-}]"')
    assert after.status == "ok" and after.stdout == "[]\n"


def test_read_fails_fast_instead_of_hanging(kernel: Kernel) -> None:
    ran = kernel.run("read answer\necho after", timeout=20)
    assert ran.status == "error"
    assert ran.reply["evalue"] == "exit status 1 from: read answer"


def test_syntax_error_fails_the_cell(kernel: Kernel) -> None:
    code = "echo one\necho 'unterminated"
    assert "unresolvable" in kernel.run(code).reply["evalue"]  # the guard refuses it first
    ran = kernel.run(code, metadata={"reifier": {"allow": ["unresolvable"]}})
    assert ran.status == "error" and "syntax error" in ran.reply["evalue"]
    assert "unexpected EOF" in ran.stderr


def test_top_level_return_cuts_the_cell_short(kernel: Kernel) -> None:
    ran = kernel.run("echo one\nreturn 4\necho two")
    assert ran.status == "error" and ran.stdout == "one\n"
    assert "status 4" in ran.reply["evalue"]
    assert kernel.run("echo one; return 0; echo two").status == "ok"


def test_is_complete(kernel: Kernel) -> None:
    def status(code: str) -> str:
        return str(kernel.reply(kernel.kc.is_complete(code), 30)["status"])

    assert status("echo hi") == "complete"
    assert status("if true; then") == "incomplete"
    assert status("echo a \\") == "incomplete"
    assert status("fi") == "invalid"


# --- guard ---------------------------------------------------------------------------


def test_guard_refusal_names_the_rule_and_runs_nothing(kernel: Kernel) -> None:
    code = "touch GUARD_MARKER && rm -rf /"
    ran = kernel.run(code)
    assert ran.status == "error" and ran.reply["ename"] == "GuardRefused"
    verdict = evaluate(code)
    assert not verdict.allowed
    assert verdict.reason in ran.reply["evalue"]
    assert "rm_catastrophic" in ran.reply["evalue"] and "rm -rf /" in ran.reply["evalue"]
    assert [e["ename"] for e in ran.errors] == ["GuardRefused"]
    assert not (kernel.home / "GUARD_MARKER").exists()
    assert (kernel.home / "MARKER").exists()


def test_guard_allows_a_rule_from_request_metadata(kernel: Kernel) -> None:
    (kernel.home / "projects").mkdir()
    code = 'cd "$HOME" && rm -rf ~/projects'
    assert kernel.run(code).reply["ename"] == "GuardRefused"
    assert (kernel.home / "projects").is_dir()
    ran = kernel.run(code, metadata={"reifier": {"allow": ["rm_outside_scratch"]}})
    assert ran.status == "ok", ran.reply
    assert not (kernel.home / "projects").exists()


def test_guard_allows_a_rule_from_the_environment(jupyter_path: Path, tmp_path: Path) -> None:
    code = 'rm -rf ~/projects'
    digest = "sha256:" + hashlib.sha256(code.encode()).hexdigest()
    allow = {digest: ["rm_outside_scratch"], "2": ["git_discard"]}
    k = start(tmp_path, REIFIER_GUARD_ALLOW=json.dumps(allow))
    try:
        (k.home / "projects").mkdir()
        assert k.run(code).status == "ok"
        assert not (k.home / "projects").exists()
        # execution count 2 allows git_discard for the second cell only
        ran = k.run("git reset --hard 2>/dev/null || echo ran")
        assert ran.status == "ok" and ran.stdout == "ran\n"
        assert k.run("git reset --hard 2>/dev/null || echo ran").reply["ename"] == "GuardRefused"
    finally:
        k.close()


def test_bad_guard_allow_setting_fails_closed_and_says_so(jupyter_path: Path, tmp_path: Path) -> None:
    k = start(tmp_path, REIFIER_GUARD_ALLOW="{not json")
    try:
        ran = k.run("rm -rf ~/projects")
        assert ran.reply["ename"] == "GuardRefused"
        assert "REIFIER_GUARD_ALLOW ignored" in ran.stderr
    finally:
        k.close()


def test_injected_parameter_stays_data(kernel: Kernel) -> None:
    payload = "$(rm -rf ~) `touch PWNED` ; rm -rf ~ '"
    cell = render_parameters_cell({"PAYLOAD": payload})
    assert kernel.run(cell).status == "ok"
    ran = kernel.run('printf "%s\\n" "$PAYLOAD"')
    assert ran.status == "ok" and ran.stdout == payload + "\n"
    assert (kernel.home / "MARKER").exists()
    assert not (kernel.home / "PWNED").exists()


def test_cells_are_judged_with_the_live_values_of_runbook_variables(
        jupyter_path: Path, tmp_path: Path) -> None:
    k = start(tmp_path, REIFIER_GUARD_PARAMS=json.dumps(["DIR"]))
    try:
        victim = k.home / "victim"
        victim.mkdir()
        (victim / "keep").write_text("x")
        fix = 'chmod -R 000 -- "${DIR:?}"'
        assert k.run(render_parameters_cell({"DIR": "/etc"})).status == "ok"
        ran = k.run(fix)
        assert ran.reply["ename"] == "GuardRefused"
        assert "chmod_chown_system" in ran.reply["evalue"] and "DIR='/etc'" in ran.reply["evalue"]
        # a value set by an earlier cell (not a declared parameter) is judged too
        assert k.run("TARGET=/usr/lib").status == "ok"
        ran = k.run('find "$TARGET" -name "*.so" -delete')
        assert ran.reply["ename"] == "GuardRefused" and "TARGET='/usr/lib'" in ran.reply["evalue"]
        # the same cell with a harmless value runs
        assert k.run(render_parameters_cell({"DIR": str(victim)})).status == "ok"
        assert k.run('chmod -R u+rwX -- "${DIR:?}" && echo done').stdout == "done\n"
        # a name the cell assigns itself is not bound to its stale value
        ran = k.run('DIR=/tmp/reifier-nothing-here; ls -d "$DIR" 2>/dev/null || echo none')
        assert ran.status == "ok" and ran.stdout == "none\n"
        # values stay data for the guard too: $(…) in a value is never code
        assert k.run(render_parameters_cell({"DIR": "$(rm -rf ~)"})).status == "ok"
        assert k.run('printf "%s\\n" "$DIR"').stdout == "$(rm -rf ~)\n"
        assert (k.home / "MARKER").exists()
    finally:
        k.close()


# --- timeouts and interrupts --------------------------------------------------------


@pytest.mark.slow
def test_timeout_kills_the_cell_and_its_children_but_keeps_state(jupyter_path: Path, tmp_path: Path) -> None:
    k = start(tmp_path, REIFIER_CELL_TIMEOUT="1")
    try:
        assert k.run("STATE=kept; sleep 300 & echo $! > older.pid").status == "ok"
        older = int((k.home / "older.pid").read_text())
        ran = k.run("sleep 100 & echo $! > child.pid; wait", timeout=60)
        assert ran.status == "error" and ran.reply["ename"] == "CellTimeout"
        assert "timed out after 1 s" in ran.reply["evalue"]
        assert wait_gone(int((k.home / "child.pid").read_text()))
        assert alive(older), "a background job of an earlier cell must survive"
        after = k.run("echo $STATE")
        assert after.status == "ok" and after.stdout == "kept\n"
        busy = k.run("while :; do :; done", timeout=60)
        assert busy.reply["ename"] == "CellTimeout"
        assert k.run("echo $STATE").stdout == "kept\n"
        os.kill(older, 9)
    finally:
        k.close()


@pytest.mark.slow
def test_interrupt_stops_the_cell_and_keeps_the_kernel(jupyter_path: Path, tmp_path: Path) -> None:
    k = start(tmp_path)
    try:
        assert k.run("V=still").status == "ok"
        ran = run_and_interrupt(k, "sleep 100 & echo $! > int.pid; echo started; wait; echo never",
                                after="started")
        assert ran.status == "error" and ran.reply["ename"] == "CellInterrupted"
        assert "never" not in ran.stdout
        assert k.run("echo $V").stdout == "still\n"
    finally:
        k.close()
    # A background job ignores SIGINT once set up (and may not be yet): clean it up.
    with contextlib.suppress(ProcessLookupError):
        os.kill(int((k.home / "int.pid").read_text()), 9)


def test_shutdown_hangs_up_background_jobs(jupyter_path: Path, tmp_path: Path) -> None:
    k = start(tmp_path)
    try:
        cell = ("sleep 300 & echo $! > bg.pid\n"
                "nohup sleep 300 >/dev/null 2>&1 & echo $! > nohup.pid\n"
                'until [ "$(cat /proc/$!/comm)" = sleep ]; do sleep 0.01; done')  # nohup has run
        assert k.run(cell).status == "ok"
    finally:
        k.close()
    assert wait_gone(int((k.home / "bg.pid").read_text()))
    survivor = int((k.home / "nohup.pid").read_text())
    assert alive(survivor), "nohup'd jobs survive, as when a terminal closes"
    os.kill(survivor, 9)


def test_jobs_are_hung_up_even_when_the_kernel_started_with_sighup_ignored(
        jupyter_path: Path, tmp_path: Path) -> None:
    # as under nohup or a service manager: the ignore is inherited through exec
    previous = signal.signal(signal.SIGHUP, signal.SIG_IGN)
    try:
        k = start(tmp_path)
    finally:
        signal.signal(signal.SIGHUP, previous)
    try:
        assert k.run("sleep 300 & echo $! > bg.pid").status == "ok"
    finally:
        k.close()
    assert wait_gone(int((k.home / "bg.pid").read_text()))


def test_sigterm_hangs_up_background_jobs_too(jupyter_path: Path, tmp_path: Path) -> None:
    # what jupyter_client sends when a shutdown request is not answered in time
    k = start(tmp_path)
    try:
        cell = ("sleep 300 & echo $! > bg.pid\n"
                "nohup sleep 300 >/dev/null 2>&1 & echo $! > nohup.pid\n"
                'until [ "$(cat /proc/$!/comm)" = sleep ]; do sleep 0.01; done')
        assert k.run(cell).status == "ok"
        k.km.signal_kernel(signal.SIGTERM)
        assert wait_gone(int((k.home / "bg.pid").read_text()))
        survivor = int((k.home / "nohup.pid").read_text())
        assert alive(survivor)
        os.kill(survivor, 9)
        deadline = time.monotonic() + 10
        while k.km.is_alive() and time.monotonic() < deadline:
            time.sleep(0.05)
        assert not k.km.is_alive()  # and the kernel still ends, of the SIGTERM
    finally:
        k.kc.stop_channels()
        k.km.shutdown_kernel(now=True)


# --- the outcome table, settings and the spec ---------------------------------------


def run_and_interrupt(k: Kernel, code: str, after: str | None = None) -> Ran:
    """Send ``code``, interrupt the kernel once it started (or printed ``after``), collect."""
    msg = k.kc.session.msg("execute_request", {"code": code, "silent": False, "stop_on_error": False})
    k.kc.shell_channel.send(msg)
    while True:
        out = k.kc.get_iopub_msg(timeout=30)
        if out["parent_header"].get("msg_id") != msg["header"]["msg_id"]:
            continue
        if after is None and out["msg_type"] == "execute_input":
            break
        if after is not None and out["msg_type"] == "stream" and after in out["content"]["text"]:
            break
    k.km.interrupt_kernel()
    ran = Ran(status="?")
    k.collect(msg["header"]["msg_id"], ran, 30)
    ran.reply = k.reply(msg["header"]["msg_id"], 30)
    ran.status = ran.reply["status"]
    return ran


@pytest.mark.slow
@pytest.mark.parametrize("outcome", OUTCOMES, ids=lambda o: o.kind)
def test_outcome_examples_produce_their_error(jupyter_path: Path, tmp_path: Path, outcome: Outcome) -> None:
    k = start(tmp_path, REIFIER_CELL_TIMEOUT="1" if outcome.kind == "timeout" else "30")
    try:
        if outcome.kind == "lost":  # the example kills bash just after the cell ends
            bash = bash_pid(k)
            assert k.run(outcome.example).status == "ok"
            assert wait_gone(bash)
        ran = run_and_interrupt(k, outcome.example) if outcome.kind == "interrupted" else k.run(
            "echo must-not-run" if outcome.kind == "lost" else outcome.example)
        assert ran.status == "error" and ran.reply["ename"] == outcome.ename
        assert [e["ename"] for e in ran.errors] == [outcome.ename]
        assert "must-not-run" not in ran.stdout
        assert k.run("echo ok").stdout == "ok\n"
    finally:
        k.close()


@pytest.mark.parametrize(
    ("env", "timeout", "problem"),
    [
        ({}, 600.0, ""),
        ({"REIFIER_CELL_TIMEOUT": "2.5"}, 2.5, ""),
        ({"REIFIER_CELL_TIMEOUT": "0"}, None, ""),
        ({"REIFIER_CELL_TIMEOUT": "soon"}, 600.0, "REIFIER_CELL_TIMEOUT"),
        ({"REIFIER_CELL_TIMEOUT": "nan"}, 600.0, "REIFIER_CELL_TIMEOUT"),
        ({"REIFIER_GUARD_ALLOW": "[1]"}, 600.0, "REIFIER_GUARD_ALLOW"),
        ({"REIFIER_GUARD_ALLOW": '{"1": "rm_catastrophic"}'}, 600.0, "REIFIER_GUARD_ALLOW"),
    ],
)
def test_settings_from_env(env: dict[str, str], timeout: float | None, problem: str) -> None:
    settings = KernelSettings.from_env(env)
    assert settings.timeout == timeout
    assert (problem in " ".join(settings.problems)) if problem else not settings.problems
    if problem == "REIFIER_GUARD_ALLOW":
        assert settings.allow == {}  # fails closed: nothing allowed


def test_allowed_rules_merge_metadata_and_every_env_key() -> None:
    code = "rm -rf ~/x"
    digest = "sha256:" + hashlib.sha256(code.encode()).hexdigest()
    allow = {"cell-a": ["a"], digest: ["b"], "3": ["c"], "4": ["d"]}
    settings = KernelSettings.from_env({"REIFIER_GUARD_ALLOW": json.dumps(allow)})
    meta = {"reifier": {"allow": ["m", 7]}}
    assert allowed_rules(settings, code, 3, meta, "cell-a") == {"a", "b", "c", "m"}
    assert allowed_rules(settings, "other", 5, {}, None) == frozenset()


def test_static_kernel_json_matches_the_cli_spec() -> None:
    static = json.loads((ROOT / "kernels" / KERNEL_NAME / "kernel.json").read_text())
    assert static == KERNEL_SPEC
    assert static["argv"][0] == "python" and "{connection_file}" in static["argv"]


def test_kernel_list_shows_the_installed_spec(jupyter_path: Path) -> None:
    proc = subprocess.run([str(REIFIER), "kernel", "list", "--json"], capture_output=True,
                          text=True, check=True, env=dict(os.environ))
    names = {row["name"]: row for row in json.loads(proc.stdout)}
    assert names[KERNEL_NAME]["display_name"] == "Reifier Bash"
    assert names[KERNEL_NAME]["language"] == "bash"


def test_install_rejects_two_destinations() -> None:
    proc = subprocess.run([str(REIFIER), "kernel", "install", "--user", "--prefix", "/x"],
                          capture_output=True, text=True, check=False)
    assert proc.returncode == 2 and "choose one of" in proc.stderr


# --- papermill -----------------------------------------------------------------------


@pytest.mark.slow
def test_papermill_runs_a_notebook_on_the_kernel(jupyter_path: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import nbformat
    import papermill

    monkeypatch.setenv("HOME", str(tmp_path))
    nb = nbformat.v4.new_notebook()
    nb.metadata["kernelspec"] = {"name": KERNEL_NAME, "display_name": "Reifier Bash", "language": "bash"}
    params = nbformat.v4.new_code_cell("HOST='localhost'")
    params.metadata["tags"] = ["parameters"]
    nb.cells = [params, nbformat.v4.new_code_cell('echo "host=$HOST"'),
                nbformat.v4.new_code_cell("echo done >&2")]
    src, out = tmp_path / "in.ipynb", tmp_path / "out.ipynb"
    nbformat.write(nb, src)
    papermill.execute_notebook(str(src), str(out), parameters={"HOST": "web-01; rm -rf ~"},
                               kernel_name=KERNEL_NAME, progress_bar=False, cwd=str(tmp_path))
    result = nbformat.read(out, as_version=4)
    texts = [o.get("text", "") for c in result.cells if c.cell_type == "code" for o in c.outputs]
    assert "host=web-01; rm -rf ~\n" in texts and "done\n" in texts

    nb.cells.insert(2, nbformat.v4.new_code_cell("grep -q needle /nonexistent"))
    nbformat.write(nb, src)
    with pytest.raises(papermill.PapermillExecutionError) as info:
        papermill.execute_notebook(str(src), str(out), kernel_name=KERNEL_NAME,
                                   progress_bar=False, cwd=str(tmp_path))
    assert info.value.ename == "CellFailed"
    assert "exit status 2 from: grep -q needle /nonexistent" in info.value.evalue
