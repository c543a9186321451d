"""Benchmark ``reifier run``: fixed overhead and per-cell cost against plain bash.

Builds approved 1-, 10- and 100-cell runbooks (one ``echo`` per cell) in a temp
workspace and times, for each size, the median of a few runs of:

* ``bash``: the same commands in one ``bash -c`` process (the floor);
* ``engine``: papermill with the ``reifier`` engine and kernel (admission,
  kernel start, cells, shutdown), output to a temp file;
* ``run``: :func:`reifier.adapters.runner.execute_runbook`, i.e. ``engine`` plus
  the evidence (record notebook, nbconvert HTML, index line, store node);
* ``papermill + bash_kernel`` when that kernel is installed (it usually is not;
  the result says so).

Fixed overhead is the 1-cell time; per-cell cost is the slope between the 10-
and 100-cell runbooks. Targets: overhead < 1.5 s (engine), per cell < 20 ms.
Run: ``.venv/bin/python benchmarks/bench_run.py``.
"""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(Path(__file__).resolve().parent))
from _util import approval_keys  # noqa: E402

SIZES = (1, 10, 100)
REPEAT = 3


def _book(n: int) -> dict[str, Any]:
    from reifier.adapters import notebooks

    cells = [{"cell_type": "code", "id": "p", "metadata": {"tags": ["parameters"]},
              "source": "N='x'", "outputs": [], "execution_count": None}]
    cells += [{"cell_type": "code", "id": f"c{i}", "metadata": {}, "source": f"echo {i}",
               "outputs": [], "execution_count": None} for i in range(n)]
    return {"cells": cells, "nbformat": 4, "nbformat_minor": 5,
            "metadata": {"kernelspec": dict(notebooks.KERNELSPEC),
                         "jupytext": dict(notebooks.JUPYTEXT),
                         "reifier": {"id": f"bench-{n}", "title": f"{n} cells", "status": "draft"}}}


def _median(fn: Any) -> float:
    times = []
    for _ in range(REPEAT):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def _has_bash_kernel(tmp: Path) -> bool:
    """Make the baseline kernel available: bash_kernel's spec into a temp prefix if needed."""
    from jupyter_client.kernelspec import KernelSpecManager

    if "bash" in KernelSpecManager().find_kernel_specs():
        return True
    try:
        import bash_kernel  # noqa: F401  (the dev extra installs it)
    except ImportError:
        return False
    prefix = tmp / "bash-kernel"
    subprocess.run([sys.executable, "-m", "bash_kernel.install", "--prefix", str(prefix)],
                   check=True, capture_output=True)
    os.environ["JUPYTER_PATH"] = os.pathsep.join(
        [str(prefix / "share" / "jupyter"), os.environ.get("JUPYTER_PATH", "")])
    return "bash" in KernelSpecManager().find_kernel_specs()


def main() -> dict[str, Any]:
    """Time every size with every method; print a table and return the figures."""
    tmp = Path(tempfile.mkdtemp(prefix="reifier-bench-"))
    os.environ.update(REIFIER_HOME=str(tmp / "home"), REIFIER_WORKSPACE=str(tmp / "ws"))
    os.environ.setdefault("JUPYTER_PATH", str(ROOT))  # the repo's kernels/ if not installed
    import nbformat
    import papermill

    from reifier.adapters import approve, notebooks
    from reifier.adapters.runner import execute_runbook
    from reifier.adapters.settings import load_context

    ctx = load_context()
    os.environ.update(approval_keys(ctx.workspace, Path(tmp)))
    bash_kernel = _has_bash_kernel(tmp)
    rows: dict[int, dict[str, float]] = {}
    for n in SIZES:
        path = ctx.runbooks / "approved" / f"bench-{n}.md"
        notebooks.write_pair(_book(n), path)
        approve.approve_paths(ctx, [path], "bench")
        nb = notebooks.read(path.with_suffix(".ipynb"))
        script = "\n".join(f"echo {i}" for i in range(n))
        row = {
            "bash": _median(lambda s=script: subprocess.run(
                ["bash", "-c", s], capture_output=True, check=True)),
            "engine": _median(lambda b=nb: papermill.execute_notebook(
                nbformat.from_dict(b), str(tmp / "out.ipynb"), engine_name="reifier",
                kernel_name="reifier-bash", progress_bar=False)),
            "run": _median(lambda p=path: execute_runbook(p)),
        }
        if bash_kernel:
            plain = dict(nb, metadata={"kernelspec": {"name": "bash", "language": "bash",
                                                      "display_name": "Bash"}})
            row["papermill_bash_kernel"] = _median(lambda b=plain: papermill.execute_notebook(
                nbformat.from_dict(b), str(tmp / "plain.ipynb"), kernel_name="bash",
                progress_bar=False))
        rows[n] = row
    slope = {k: (rows[100][k] - rows[10][k]) / 90 for k in rows[10]}
    result = {
        "seconds": rows,
        "fixed_overhead_s": {k: rows[1][k] for k in rows[1]},
        "per_cell_ms": {k: 1000 * v for k, v in slope.items()},
        "engine_vs_bash_1_cell": rows[1]["engine"] / rows[1]["bash"],
        "bash_kernel": "installed" if bash_kernel else "not installed: baseline skipped",
        "targets": {"fixed_overhead_s": 1.5, "per_cell_ms": 20},
    }
    print(f"{'cells':>5} " + " ".join(f"{k:>22}" for k in rows[1]))
    for n, row in rows.items():
        print(f"{n:>5} " + " ".join(f"{v:>21.3f}s" for v in row.values()))
    print("per cell (10→100 slope): " +
          ", ".join(f"{k} {v:.1f} ms" for k, v in result["per_cell_ms"].items()))
    print(f"fixed overhead (1 cell): engine {rows[1]['engine']:.2f} s, run "
          f"{rows[1]['run']:.2f} s (target 1.5 s); bash_kernel: {result['bash_kernel']}")
    return result


if __name__ == "__main__":
    main()
    sys.exit(0)
