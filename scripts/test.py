#!/usr/bin/env python3
"""Second command: set up everything the tests need, then run the whole test suite.

    python3 scripts/test.py              # every test (slow, server and browser ones included)
    python3 scripts/test.py -m "not slow" -x   # extra arguments go to pytest

Besides the locked Python packages it installs, once: DuckDB 1.4 in a side folder (to prove
analysts' 1.x tools open the warehouse) and Debian's chromium for the browser test.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys

from _env import VENV, ensure_env, run

DUCKDB_1X = "duckdb==1.4.4"
DUCKDB_1X_DIR = VENV / "duckdb-1.4"


def ensure_duckdb_1x(python: str) -> None:
    if (DUCKDB_1X_DIR / "duckdb").is_dir():
        return
    print(f"Installing {DUCKDB_1X} into {DUCKDB_1X_DIR} (for the compatibility test) ...", flush=True)
    subprocess.run(
        [
            python,
            "-m",
            "pip",
            "install",
            "-q",
            "--disable-pip-version-check",
            "--no-warn-conflicts",
            "--target",
            str(DUCKDB_1X_DIR),
            DUCKDB_1X,
        ],
        check=True,
    )


def ensure_chromium() -> None:
    """Debian's chromium, for the Playwright test (a test tool's own browser download fails here)."""
    if shutil.which("chromium") or os.environ.get("TONGKET_SKIP_CHROMIUM_INSTALL"):
        return
    if not shutil.which("apt-get") or os.geteuid() != 0:
        print("chromium is not installed and cannot be installed here; the browser test will say so.", flush=True)
        return
    print("Installing Debian's chromium (for the browser test) ...", flush=True)
    env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
    subprocess.run(["apt-get", "update", "-qq"], check=False, env=env, stdout=subprocess.DEVNULL)
    subprocess.run(
        ["apt-get", "install", "-y", "-qq", "--no-install-recommends", "chromium"],
        check=True,
        env=env,
        stdout=subprocess.DEVNULL,
    )


def main() -> int:
    python = str(ensure_env("requirements-test.lock"))
    ensure_duckdb_1x(python)
    ensure_chromium()
    args = sys.argv[1:]
    code = run([python, "-m", "pytest", *args], env={"TONGKET_DUCKDB_1X_PATH": str(DUCKDB_1X_DIR)})
    if code == 5:
        print("No tests were collected: that is a failure.", file=sys.stderr)
        return 1
    return code


if __name__ == "__main__":
    sys.exit(main())
