"""Resolve every engine's jars now (``python -m tests.engines.prefetch``), so that .ci/run reports a failed
Maven download by name before the test suites start; later fixture calls read the cached classpath."""

from __future__ import annotations

import sys
import time

from tests.engines.maven import HERE, EngineUnavailable, classpath


def main() -> int:
    failed = 0
    for pom in sorted(HERE.glob("*/pom.xml")):
        name = pom.parent.name
        started = time.monotonic()
        try:
            jars = classpath(name).count(":") + 1
        except EngineUnavailable as exc:
            print(f"engines: {name}: {exc}", file=sys.stderr)
            failed += 1
            continue
        print(f"engines: {name}: {jars} jars ready ({time.monotonic() - started:.1f} s)")
    return 1 if failed else 0


if __name__ == "__main__":
    raise SystemExit(main())
