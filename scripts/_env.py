"""Create the project's virtual environment and install the locked dependencies (stdlib only).

Used by scripts/demo.py and scripts/test.py so that a fresh machine with only Python 3.11 and
pip needs nothing else.
"""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
import venv
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
VENV = ROOT / ".venv"
BIN = VENV / ("Scripts" if os.name == "nt" else "bin")


def python() -> Path:
    return BIN / ("python.exe" if os.name == "nt" else "python")


def _stamp(lock: Path) -> Path:
    return VENV / f".installed-{lock.name}"


def ensure_env(lock_name: str) -> Path:
    """Create .venv (once) and install `lock_name` plus the project (again when the lock changed)."""
    if sys.version_info[:2] != (3, 11):
        sys.exit(f"tongket needs Python 3.11 (this is {sys.version.split()[0]})")
    if not python().exists():
        print(f"Creating {VENV} ...", flush=True)
        venv.EnvBuilder(with_pip=True).create(VENV)
    lock = ROOT / lock_name
    digest = hashlib.sha256(lock.read_bytes() + (ROOT / "pyproject.toml").read_bytes()).hexdigest()
    stamp = _stamp(lock)
    if stamp.exists() and stamp.read_text() == digest:
        return python()
    print(f"Installing the locked dependencies ({lock_name}) ...", flush=True)
    pip = [str(python()), "-m", "pip", "--disable-pip-version-check", "-q"]
    subprocess.run([*pip, "install", "-r", str(lock)], check=True)
    subprocess.run([*pip, "install", "--no-deps", "--no-build-isolation", "-e", str(ROOT)], check=True)
    stamp.write_text(digest)
    return python()


def run(args: list[str], env: dict[str, str] | None = None) -> int:
    """Run a command from the project root with the project's environment variables."""
    full_env = dict(os.environ)
    full_env.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
    full_env.update(env or {})
    return subprocess.run(args, cwd=ROOT, env=full_env).returncode
