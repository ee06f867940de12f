"""Run a snippet in a fresh interpreter, so that a crash (SIGSEGV) fails a test instead of
killing pytest."""
import os
import subprocess
import sys
import textwrap

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def run_python(code: str, *args, timeout: float = 600, module: str | None = None):
    """``python -c code`` (or ``python -m module args``) with the package on the path."""
    env = dict(os.environ, PYTHONPATH=ROOT + os.pathsep + os.environ.get("PYTHONPATH", ""))
    cmd = [sys.executable, "-m", module, *map(str, args)] if module else \
        [sys.executable, "-c", textwrap.dedent(code), *map(str, args)]
    return subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=timeout, cwd=ROOT)


def assert_clean_exit(proc, rc: int = 0):
    """The interpreter exited by itself with ``rc`` (a signal gives a negative code)."""
    assert proc.returncode == rc, (proc.returncode, proc.stdout[-2000:], proc.stderr[-3000:])
