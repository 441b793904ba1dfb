"""Resolve every engine's jars now (``python -m tests.engines.prefetch``) and compile the Elasticsearch
launcher, so that .ci/run reports a failed Maven download or a missing JDK by name before the test suites
start (a first download inside a test would also count against pytest's per-test time-out); later fixture
calls read the cache."""

from __future__ import annotations

import sys
import time

from tests.engines.maven import HERE, EngineUnavailable, classpath, java


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
    try:
        from tests.engines.elastic_node import JAVA_MAJOR, compile_launcher

        compile_launcher(java(JAVA_MAJOR), classpath("elasticsearch"))
        print("engines: elasticsearch: launcher compiled")
    except EngineUnavailable as exc:
        print(f"engines: elasticsearch: {exc}", file=sys.stderr)
        failed += 1
    return 1 if failed else 0


if __name__ == "__main__":
    raise SystemExit(main())
