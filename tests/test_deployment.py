"""docker-compose.yml and the Dockerfile stay in step with the code: every stage of the topology runs
as a service wired to the real engines, and the image contains every package the project installs."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

import yaml

from yuqing.bus.kafka import parse_kafka_url
from yuqing.settings import load_settings
from yuqing.topology import STAGES

ROOT = Path(__file__).resolve().parents[1]


def _compose() -> dict:
    return yaml.safe_load((ROOT / "docker-compose.yml").read_text(encoding="utf-8"))


def test_every_stage_is_a_compose_service_on_the_real_engines() -> None:
    services = _compose()["services"]
    for name in STAGES:
        assert name in services, f"stage {name} has no service"
        svc = services[name]
        assert svc["command"] == ["worker", name]
        env = svc["environment"]
        assert env["YUQING_BUS_URL"].startswith("kafka://")
        assert env["YUQING_SEARCH_URL"].startswith("http://elasticsearch")
        assert env["YUQING_DB_URL"].startswith("postgresql+psycopg://")
        # the settings the services get are ones the code accepts
        load_settings(bus_url=env["YUQING_BUS_URL"], search_url=env["YUQING_SEARCH_URL"],
                      db_url=env["YUQING_DB_URL"])
        # the Kafka options in the URL are ones the bus understands
        parse_kafka_url(env["YUQING_BUS_URL"])


def test_infrastructure_has_health_checks_and_kafka_runs_kraft() -> None:
    services = _compose()["services"]
    for name in ("kafka", "elasticsearch", "postgres", "api"):
        assert "healthcheck" in services[name], name
    kafka_env = services["kafka"]["environment"]
    assert "controller" in kafka_env["KAFKA_PROCESS_ROLES"]
    assert "zookeeper" not in yaml.safe_dump(services).lower()
    assert services["elasticsearch"]["environment"]["discovery.type"] == "single-node"


def test_the_image_copies_every_installed_package() -> None:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    packages = {p.rstrip("*") for p in project["tool"]["setuptools"]["packages"]["find"]["include"]}
    copied = set(re.findall(r"^COPY (\w+) \./", (ROOT / "Dockerfile").read_text(), flags=re.M))
    assert packages <= copied, f"Dockerfile misses {packages - copied}"


def _pom_version(engine: str, artifact: str) -> str:
    pom = (ROOT / "tests" / "engines" / engine / "pom.xml").read_text(encoding="utf-8")
    found = re.search(rf"<artifactId>{re.escape(artifact)}</artifactId>\s*<version>([^<]+)</version>", pom)
    assert found, f"{artifact} has no version in tests/engines/{engine}/pom.xml"
    return found.group(1)


def _image_tag(service: str) -> str:
    return _compose()["services"][service]["image"].rsplit(":", 1)[1]


def test_compose_runs_the_kafka_and_elasticsearch_versions_the_live_tests_run() -> None:
    assert _image_tag("kafka") == _pom_version("kafka", "kafka_2.13")
    assert _image_tag("elasticsearch") == _pom_version("elasticsearch", "framework")


def test_compose_runs_the_postgresql_major_version_the_tests_run(pg_url: str) -> None:
    from sqlalchemy import create_engine, text

    engine = create_engine(pg_url)
    with engine.connect() as conn:
        major = int(conn.execute(text("SHOW server_version_num")).scalar_one()) // 10000
    engine.dispose()
    assert _image_tag("postgres") == str(major)


def test_the_sample_site_stays_out_of_the_package_and_the_image_and_compose_mounts_it() -> None:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    packages = {p.rstrip("*") for p in project["tool"]["setuptools"]["packages"]["find"]["include"]}
    assert "sample_site" not in packages and (ROOT / "sample_site" / "__main__.py").is_file()
    assert not list((ROOT / "crawlers").glob("sample_site*")), "the sample site is not a crawlers module"
    assert "sample_site" not in (ROOT / "Dockerfile").read_text(encoding="utf-8")
    services = _compose()["services"]
    assert services["sample-site"]["entrypoint"][:3] == ["python", "-m", "sample_site"]
    assert "./sample_site:/app/sample_site:ro" in services["sample-site"]["volumes"]
    replay_files = {yaml.safe_load(p.read_text(encoding="utf-8"))["file"]
                    for p in (ROOT / "crawlers" / "sources").glob("*.yaml")
                    if yaml.safe_load(p.read_text(encoding="utf-8")).get("type") == "replay"}
    (mount,) = services["crawler"]["volumes"]
    source, target = mount.removesuffix(":ro").split(":")
    for file in replay_files:  # the crawler's replay sources find their files where compose mounts them
        assert file.startswith("../../sample_site/data/") and (ROOT / file.removeprefix("../../")).is_file()
        assert source == "./sample_site/data" and target.endswith("/site-packages/sample_site/data")
