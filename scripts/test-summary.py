#!/usr/bin/env python3
"""Prints one line per failed test and the closing "N passed, M failed" line
from meson's testlog.json files (one per build). Exits 1 on any failure or
when no test ran at all. A skipped test counts as failed: nothing in this
suite may skip (exit 77 is also how libFuzzer reports a crash)."""
import json
import sys

passed = failed = 0
for path in sys.argv[1:]:
    build = path.split("/")[0]
    try:
        with open(path, encoding="utf-8") as f:
            lines = [json.loads(l) for l in f if l.strip()]
    except OSError:
        print(f"{build}: no test log (build failed?)")
        failed += 1
        continue
    for t in lines:
        result = t.get("result")
        if result in ("OK", "EXPECTEDFAIL"):
            passed += 1
        else:
            failed += 1
            print(f"FAILED {build}: {t.get('name')} ({result})")

print(f"{passed} passed, {failed} failed")
sys.exit(1 if failed or passed == 0 else 0)
