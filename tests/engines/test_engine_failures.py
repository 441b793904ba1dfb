"""When an engine cannot be had, the suites say what is missing: under CI they fail, never skip."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.engines import maven
from tests.kafka_broker import _Broker


def test_a_failed_maven_download_names_the_engine_and_the_missing_artifact(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    engine = tmp_path / "nothing"
    engine.mkdir()
    (engine / "pom.xml").write_text(
        """<project xmlns="http://maven.apache.org/POM/4.0.0"><modelVersion>4.0.0</modelVersion>
        <groupId>yuqing.tests</groupId><artifactId>nothing</artifactId><version>1</version>
        <packaging>pom</packaging><dependencies><dependency><groupId>org.yuqing.absent</groupId>
        <artifactId>no-such-engine</artifactId><version>0.0.1</version></dependency></dependencies></project>"""
    )
    monkeypatch.setattr(maven, "HERE", tmp_path)
    monkeypatch.setattr(maven, "CACHE", tmp_path / "cache")
    with pytest.raises(maven.EngineUnavailable) as failed:
        maven.classpath("nothing")
    message = str(failed.value)
    assert "nothing jars" in message and "Maven Central" in message
    assert "no-such-engine" in message  # Maven's own line naming the artifact it could not find
    assert not list((tmp_path / "cache").rglob("classpath-*.txt")), "no classpath cached after a failure"


def _unstartable() -> tuple[str, object]:
    raise maven.EngineUnavailable("Maven could not download the kafka jars")


def test_under_ci_an_engine_that_cannot_start_fails_the_test_with_the_reason(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("CI", "true")
    broker = _Broker("the test broker", _unstartable)  # type: ignore[arg-type]
    with pytest.raises(pytest.fail.Exception, match="cannot start the test broker: Maven could not download"):
        broker.get()


def test_outside_ci_an_engine_that_cannot_start_skips_with_the_reason(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("CI", raising=False)
    broker = _Broker("the test broker", _unstartable)  # type: ignore[arg-type]
    with pytest.raises(pytest.skip.Exception, match="cannot start the test broker"):
        broker.get()
