"""The long fuzzing session: tests/test_fuzz.py with many more examples.

    .venv/bin/python -m tests.fuzz_long --examples 5000 [--seed N]

It runs the same hypothesis test as CI (mutated workbooks staged for real, see
tests/test_fuzz.py) with `--examples` examples and prints hypothesis's statistics: how many
examples ran, how long they took, and how the files ended (readable, or rejected with which
rules). A failure is shrunk to a small example, printed, and kept in `.hypothesis/` so the
next run (and the CI test) replays it first. Record the results in RELIABILITY.md.
"""

from __future__ import annotations

import argparse
import os
import sys
import time

import pytest


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tests.fuzz_long", description=__doc__.splitlines()[0])
    parser.add_argument("--examples", type=int, default=5000, help="hypothesis examples to run (default 5000)")
    parser.add_argument("--seed", type=int, default=None, help="hypothesis seed (default: random)")
    args = parser.parse_args(argv)
    os.environ["TONGKET_FUZZ_EXAMPLES"] = str(args.examples)
    options = [
        "tests/test_fuzz.py",
        "-q",
        "-p",
        "no:logging",
        "-W",
        "ignore::UserWarning",
        "--hypothesis-show-statistics",
        # the whole session is one pytest test: bound it by the examples, not pyproject's 600 s
        # (each example's reading is bounded by the reader's own time-out, checked by the test)
        f"--timeout={max(600, 3 * args.examples)}",
    ]
    if args.seed is not None:
        options.append(f"--hypothesis-seed={args.seed}")
    started = time.monotonic()
    code = pytest.main(options)
    print(f"\n{args.examples} examples requested, seed {args.seed}, {time.monotonic() - started:.0f} s, exit {code}")
    return int(code)


if __name__ == "__main__":
    sys.exit(main())
