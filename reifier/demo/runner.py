"""Run the demo: break a real service, fix it in a recorded shell, draft, approve, alert, run.

Every step prints what it does; the first failure stops the demo with a
one-line reason (exit 1). The sandbox is kept so everything can be inspected.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from importlib import resources
from pathlib import Path
from typing import Any

from reifier.demo import script
from reifier.errors import RunFailed

STEPS = 6
GAP_S = 3


class DemoFailed(RunFailed):
    """A demo step did not do what it should."""


def free_port() -> int:
    """Return a free TCP port on 127.0.0.1."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def healthy(port: int) -> bool:
    """Tell whether the demo service answers its health check."""
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/health", timeout=2) as r:
            return bool(r.status == 200)
    except (OSError, urllib.error.URLError):
        return False


class Demo:
    """The demo's sandbox, processes and steps."""

    def __init__(self, sandbox: Path, echo: Callable[[str], None]) -> None:
        self.sandbox = sandbox
        self.echo = echo
        self.ws, self.home, self.app = sandbox / "workspace", sandbox / "home", sandbox / "app"
        self.port = free_port()
        self.serve_port = free_port()
        self.token = os.urandom(16).hex()
        self.env = {
            **os.environ,
            "REIFIER_HOME": str(self.home),
            "REIFIER_WORKSPACE": str(self.ws),
            "REIFIER_DEMO_PYTHON": sys.executable,
            "REIFIER_TOKEN": self.token,
        }
        self.procs: list[subprocess.Popen[bytes]] = []
        self.t0 = time.monotonic()

    # -- plumbing ---------------------------------------------------------------
    @contextmanager
    def step(self, n: int, title: str) -> Iterator[None]:
        """Print a step's header and turn any failure into a one-line DemoFailed."""
        self.echo(f"\n[{n}/{STEPS}] {title}")
        started = time.monotonic()
        try:
            yield
        except DemoFailed:
            raise
        except Exception as exc:
            raise DemoFailed(f"step {n} ({title}) failed: {exc}") from exc
        self.echo(f"      done in {time.monotonic() - started:.1f}s")

    def reifier(self, *args: str, check: bool = True,
                key: Path | None = None) -> subprocess.CompletedProcess[str]:
        """Run the reifier CLI in the sandbox's environment (signing with ``key``)."""
        env = self.env if key is None else {**self.env, "REIFIER_SIGNING_KEY": str(key)}
        proc = subprocess.run(
            [sys.executable, "-m", "reifier", *args],
            env=env,
            capture_output=True,
            text=True,
            timeout=300,
            check=False,
        )
        if check and proc.returncode:
            raise DemoFailed(
                f"`reifier {' '.join(args)}` exited {proc.returncode}: "
                f"{(proc.stderr or proc.stdout).strip().splitlines()[-1:]}"
            )
        return proc

    def appctl(self, verb: str) -> subprocess.CompletedProcess[str]:
        """Run the service supervisor."""
        return subprocess.run(
            [str(self.app / "appctl"), verb],
            env=self.env,
            capture_output=True,
            text=True,
            timeout=30,
            check=False,
        )

    def crash_service(self) -> None:
        """Kill the service with SIGKILL: its lock file stays behind, stale."""
        pid = int((self.app / "state" / "app.pid").read_text())
        os.kill(pid, signal.SIGKILL)
        for _ in range(50):
            if not healthy(self.port):
                break
            time.sleep(0.05)
        self.appctl("start")  # the automatic restart fails on the stale lock, and logs why

    def cleanup(self) -> None:
        """Stop the service and any server the demo started."""
        self.appctl("stop")
        for proc in self.procs:
            if proc.poll() is None:
                proc.terminate()
                try:
                    proc.wait(timeout=10)
                except subprocess.TimeoutExpired:
                    proc.kill()

    # -- the steps --------------------------------------------------------------
    def start_and_break_service(self) -> None:
        """Step 1: a real local service, then the incident: a crash leaves a stale lock."""
        for sub in ("state", "logs"):
            (self.app / sub).mkdir(parents=True, exist_ok=True)
        pkg = resources.files("reifier.demo")
        for name in ("service.py", "appctl"):
            (self.app / name).write_bytes(pkg.joinpath(name).read_bytes())
        (self.app / "appctl").chmod(0o755)
        (self.app / "README").write_text(script.README)
        (self.app / "port").write_text(str(self.port))
        self.ws.mkdir(parents=True, exist_ok=True)
        (self.ws / "reifier.toml").write_text(
            f"session_gap_s = {GAP_S}\n\n[autonomy]\nmin_successes = 0\ncooldown_s = 0\n"
            "min_score = 0.8\n"
        )
        started = self.appctl("start")
        if started.returncode or not healthy(self.port):
            raise DemoFailed(f"demo service did not start: {started.stderr.strip()}")
        self.echo(f"      service up on 127.0.0.1:{self.port} (health: ok)")
        self.crash_service()
        if healthy(self.port):
            raise DemoFailed("service still healthy after the crash")
        self.echo("      service crashed (kill -9): stale lock file left, restart refused")

    def replay_session(self) -> None:
        """Step 2: an engineer fixes it in a real interactive bash with the hook."""
        import pexpect

        prompt = "DEMO-PROMPT$ "
        bash = pexpect.spawn(
            "bash",
            ["--norc", "--noprofile", "-i"],
            env=self.env,
            encoding="utf-8",
            timeout=30,
            cwd=str(self.sandbox),
        )
        bash.sendline(f"PS1='{prompt}'; PROMPT_COMMAND=")
        bash.expect_exact(prompt)
        bash.expect_exact(prompt)
        bash.sendline(f'eval "$({sys.executable} -m reifier init bash)"')
        bash.expect_exact(prompt)
        for template in script.SESSION:
            command = template.format(home=self.app, port=self.port)
            bash.sendline(command)
            bash.expect_exact(prompt)
            self.echo(f"      $ {command}")
            time.sleep(0.05)
        bash.sendline("exit")
        bash.expect(pexpect.EOF)
        if not healthy(self.port):
            raise DemoFailed("the replayed fix did not bring the service back")
        self.echo("      service healthy again")

    def draft(self) -> Path:
        """Step 3: the session closes; the watcher drafts the runbook."""
        time.sleep(GAP_S + 0.5)
        out = self.reifier("watch", "--once")
        drafts = sorted((self.ws / "runbooks" / "drafts").glob("*.md"))
        if not drafts:
            raise DemoFailed(f"no draft written ({out.stdout.strip()} {out.stderr.strip()})")
        md = drafts[-1]
        self.echo(f"      draft: {md}")
        self.echo(f"             {md.with_suffix('.ipynb')}")
        from reifier.adapters import notebooks

        nb = notebooks.read(md.with_suffix(".ipynb"))
        fixes = [
            c["source"]
            for c in nb["cells"]
            if c["cell_type"] == "code" and "fix" in c.get("metadata", {}).get("tags", [])
        ]
        self.echo("      fix sequence:")
        for i, src in enumerate(fixes, 1):
            self.echo(f"        {i}. {src.replace(chr(10), ' ; ')}")
        if len(fixes) != len(script.KEY_FIXES):
            raise DemoFailed(f"expected {len(script.KEY_FIXES)} fix cells, got {len(fixes)}")
        return md

    def approve(self, md: Path) -> None:
        """Step 4: a second engineer reviews, lets it run on alerts, and approves."""
        from reifier.adapters import notebooks
        from reifier.core.approval import PERSON_NAMESPACES

        nb = notebooks.read(md.with_suffix(".ipynb"))
        meta = nb["metadata"]["reifier"]
        meta["autonomy"] = "auto"
        meta["alerts"] = [{"alertname": "DemoAppDown"}]
        notebooks.write_pair(nb, md)
        self.echo("      reviewer sets autonomy: auto and alerts: [{alertname: DemoAppDown}]")
        # Two reviewers, each with an SSH key made here; the workspace's allowed_signers
        # (public keys only) is what every run checks. autonomy: auto needs both.
        keys = self.home / "keys"
        keys.mkdir(parents=True, exist_ok=True)
        lines = []
        signers = {}
        for who in ("demo-reviewer", "demo-lead"):
            key = keys / who
            if not key.exists():
                subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", who,
                                "-f", str(key)], check=True)
            signers[who] = key
            pub = key.with_name(key.name + ".pub").read_text().strip()
            lines.append(f'{who} namespaces="{PERSON_NAMESPACES}" {pub}')
        (self.ws / "runbooks" / "allowed_signers").write_text("\n".join(lines) + "\n")
        self.echo("      runbooks/allowed_signers: demo-reviewer and demo-lead (ed25519)")
        for who, key in signers.items():
            out = self.reifier("approve", str(md), "--by", who, key=key)
            last = out.stdout.strip().splitlines()[-1] if out.stdout.strip() else ""
            self.echo(f"      {last}")
        status = json.loads(self.reifier("status", str(md), "--json").stdout)
        state = status[0]["status"] if isinstance(status, list) else status["status"]
        if state != "approved":
            raise DemoFailed(f"runbook is {state} after approval")

    def alert_and_run(self, md: Path) -> dict[str, Any]:
        """Step 5: it breaks again; Alertmanager's webhook triggers the approved runbook."""
        self.crash_service()
        if healthy(self.port):
            raise DemoFailed("service still healthy after the second crash")
        self.echo("      service crashed again (stale lock)")
        log_lines = (self.app / "logs" / "app.log").read_text().splitlines()
        summary = next(line for line in reversed(log_lines) if "ERROR" in line).split(": ", 1)[1]
        server = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "reifier",
                "serve",
                "--host",
                "127.0.0.1",
                "--port",
                str(self.serve_port),
            ],
            env=self.env,
            stdout=subprocess.DEVNULL,
            stderr=(self.sandbox / "serve.log").open("wb"),
        )
        self.procs.append(server)
        base = f"http://127.0.0.1:{self.serve_port}"
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                with urllib.request.urlopen(f"{base}/healthz", timeout=1):  # noqa: S310
                    break
            except (OSError, urllib.error.URLError):
                time.sleep(0.1)
        else:
            raise DemoFailed("reifier serve did not come up (see serve.log)")
        starts = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
        payload = script.alert_payload(self.port, summary, starts, os.urandom(8).hex())
        req = urllib.request.Request(  # noqa: S310
            f"{base}/hooks/alertmanager",
            data=json.dumps(payload).encode(),
            method="POST",
            headers={"Content-Type": "application/json", "Authorization": f"Bearer {self.token}"},
        )
        with urllib.request.urlopen(req, timeout=30) as resp:  # noqa: S310
            answer = json.loads(resp.read())
        self.echo(f"      POST /hooks/alertmanager -> {resp.status}")
        jobs = [j for a in answer.get("alerts", []) for j in a.get("runs", [])]
        if not jobs:
            raise DemoFailed(f"the alert started no run: {json.dumps(answer)[:300]}")
        job = str(jobs[0])
        deadline = time.monotonic() + 90
        info: dict[str, Any] = {}
        while time.monotonic() < deadline:
            req = urllib.request.Request(  # noqa: S310 - http to our own 127.0.0.1 server
                f"{base}/runs/{job}",
                headers={"Authorization": f"Bearer {self.token}"},
            )
            with urllib.request.urlopen(req, timeout=10) as resp:  # noqa: S310
                info = json.loads(resp.read())
            if info.get("status") not in {"queued", "running"}:
                break
            time.sleep(0.3)
        self.echo(f"      run {job}: {info.get('status')}")
        if info.get("status") != "ok":
            raise DemoFailed(f"the run ended {info.get('status')}: {info.get('reason', '')}")
        if not healthy(self.port):
            raise DemoFailed("the run finished but the service is still unhealthy")
        self.echo("      service healthy again: the runbook fixed it, unattended")
        return info


def run_demo(echo: Callable[[str], None], keep: Path | None = None) -> Path:
    """Run all steps; return the sandbox path (kept for inspection)."""
    sandbox = keep or Path(tempfile.mkdtemp(prefix="reifier-demo-"))
    demo = Demo(sandbox, echo)
    echo(f"Reifier demo: sandbox {sandbox}")
    try:
        with demo.step(1, "Start a real local service, then break it (stale lock file)"):
            demo.start_and_break_service()
        with demo.step(2, "Replay the engineer's incident session in bash with the Reifier hook"):
            demo.replay_session()
        with demo.step(3, "The session closes: Reifier drafts the runbook"):
            md = demo.draft()
        with demo.step(4, "A reviewer approves the runbook (reifier approve)"):
            demo.approve(md)
        with demo.step(5, "It breaks again: an Alertmanager webhook runs the runbook"):
            info = demo.alert_and_run(md)
        with demo.step(6, "Evidence"):
            echo(f"      execution record (HTML): {info.get('html')}")
            echo(f"      execution record (ipynb): {info.get('record')}")
            prefix = f"REIFIER_HOME={demo.home}"  # the sandbox's store and approval key
            echo(f"      verify the record chain:  {prefix} reifier records --verify "
                 f"--workspace {demo.ws}")
            echo(f"      open it all in JupyterLab: {prefix} reifier lab --workspace {demo.ws}")
    finally:
        demo.cleanup()
    echo(f"\nDemo finished in {time.monotonic() - demo.t0:.0f}s. Sandbox kept: {sandbox}")
    return sandbox
