"""Approval verification cost per run: OpenSSH signatures against local HMAC.

Every run (and every status, check and graph sync) verifies its runbook's
approval. With SSH signatures that is one ``ssh-keygen -Y verify`` per signature
the first time a process sees it (cached after); this prints the cost of a cold
verification (a fresh process's first run) and a warm one, with one and two
signatures, next to the HMAC mode.
"""

from __future__ import annotations

import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from _util import median, report

from reifier.adapters.sshsig import SshSigner, SshVerifier
from reifier.core import approval as ap

RUNS = 30


def _runbook(autonomy: str) -> dict[str, object]:
    cells = [{"cell_type": "code", "source": src, "metadata": {}, "outputs": []}
             for src in ("X=1", "systemctl restart app", "curl -fsS localhost:8080/health")]
    cells[0]["metadata"] = {"tags": ["parameters"]}
    return {"cells": cells, "metadata": {"kernelspec": {"name": "reifier-bash"},
                                         "reifier": {"id": "bench", "autonomy": autonomy,
                                                     "session": {"user": "erin"}}}}


def _ms(fn: object, runs: int) -> float:
    times = []
    for _ in range(runs):
        t0 = time.perf_counter()
        fn()  # type: ignore[operator]
        times.append(time.perf_counter() - t0)
    return round(median(times) * 1000, 2)


def main() -> dict[str, object]:
    """Time verification of one- and two-signature approvals, cold and warm."""
    with tempfile.TemporaryDirectory() as tmp:
        keys = []
        lines = []
        for who in ("alice", "bob"):
            key = Path(tmp) / who
            subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(key)],
                           check=True)
            keys.append(key)
            pub = key.with_name(who + ".pub").read_text().strip()
            lines.append(f'{who} namespaces="reifier-approval" {pub}')
        allowed = Path(tmp) / "allowed_signers"
        allowed.write_text("\n".join(lines) + "\n")
        at = "2026-12-03T10:00:00Z"
        one = ap.approve(_runbook("suggest"), by="alice", at=at, allow={},
                         key=SshSigner(keys[0]))
        two = ap.approve(ap.approve(_runbook("auto"), by="alice", at=at, allow={},
                                    key=SshSigner(keys[0])),
                         by="bob", at=at, allow={}, key=SshSigner(keys[1]))
        hmac_nb = ap.approve(_runbook("suggest"), by="alice", at=at, allow={}, key=b"k" * 32)
        warm = SshVerifier(allowed)
        assert ap.verify(one, warm).ok and ap.verify(two, warm).ok
        figures = {
            "ssh_one_signature_cold_ms": _ms(lambda: ap.verify(one, SshVerifier(allowed)), RUNS),
            "ssh_two_signatures_cold_ms": _ms(lambda: ap.verify(two, SshVerifier(allowed)),
                                              RUNS),
            "ssh_warm_ms": _ms(lambda: ap.verify(two, warm), RUNS),
            "hmac_ms": _ms(lambda: ap.verify(hmac_nb, b"k" * 32), RUNS),
            "runs": RUNS,
        }
    return report("approval_verify", figures)


if __name__ == "__main__":
    main()
