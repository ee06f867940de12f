"""Run a snippet in a fresh interpreter, so that a crash (SIGSEGV) fails a test instead of
killing pytest."""
import os
import subprocess
import sys
import textwrap

import fastdgm

# the folder holding the fastdgm in use (site-packages for an installed wheel, the checkout for an
# in-place build): subprocesses run there and put it first on the path, so they import the same
# package as the tests, never a source checkout without its compiled extension
ROOT = os.path.dirname(os.path.dirname(os.path.abspath(fastdgm.__file__)))


def isolated_env(**extra) -> dict:
    """os.environ with :data:`ROOT` first on PYTHONPATH (plus ``extra`` variables)."""
    env = dict(os.environ, **extra)
    env["PYTHONPATH"] = ROOT + os.pathsep + os.environ.get("PYTHONPATH", "")
    return env


def run_python(code: str, *args, timeout: float = 600, module: str | None = None):
    """``python -c code`` (or ``python -m module args``) with the package on the path."""
    env = isolated_env()
    cmd = [sys.executable, "-m", module, *map(str, args)] if module else \
        [sys.executable, "-c", textwrap.dedent(code), *map(str, args)]
    return subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=timeout, cwd=ROOT)


def assert_clean_exit(proc, rc: int = 0):
    """The interpreter exited by itself with ``rc`` (a signal gives a negative code)."""
    assert proc.returncode == rc, (proc.returncode, proc.stdout[-2000:], proc.stderr[-3000:])
