#!/usr/bin/env python3
"""First command: set up, generate the demo inbox (Huyện Lạc Sơn, Hòa Bình) and run tongket.

python3 scripts/demo.py            # set up if needed, make the demo inbox if missing, run
python3 scripts/demo.py --fresh    # regenerate the demo inbox and warehouse first
"""

from __future__ import annotations

import shutil
import sys

from _env import BIN, ROOT, ensure_env, run


def main() -> int:
    ensure_env("requirements.lock")
    tongket = str(BIN / "tongket")
    demo = ROOT / "data" / "demo"
    if "--fresh" in sys.argv:
        shutil.rmtree(ROOT / "data", ignore_errors=True)
    if not (demo / "inbox").is_dir():
        code = run([tongket, "sample", "--district", "157", "--out", str(demo)])
        if code:
            return code
    code = run([tongket, "run"])
    if code == 0:
        print()
        print("Done. Results:")
        print(f"  warehouse (DuckDB): {ROOT / 'data' / 'tongket.duckdb'}")
        print(f"  report tables:      {ROOT / 'outputs' / 'latest'}")
        print(f"  demo inbox:         {demo / 'inbox'}")
    return code


if __name__ == "__main__":
    sys.exit(main())
