"""Settings come from the environment and an optional TOML file; wrong values stop with one clear line."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from yuqing.settings import Settings, SettingsError, load_settings


def test_embedded_defaults_live_in_the_data_dir(tmp_path: Path) -> None:
    s = load_settings(data_dir=tmp_path)
    assert s.bus_url == f"sqlite:///{tmp_path / 'bus.sqlite3'}"
    assert s.search_url == f"sqlite:///{tmp_path / 'search.sqlite3'}"
    assert s.db_url == f"sqlite:///{tmp_path / 'yuqing.sqlite3'}"


def test_environment_overrides_and_toml_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    toml = tmp_path / "yuqing.toml"
    toml.write_text('bus_url = "kafka://k1:9092,k2:9092"\nsearch_url = "http://es:9200"\n', encoding="utf-8")
    monkeypatch.setenv("YUQING_CONFIG", str(toml))
    monkeypatch.setenv("YUQING_SEARCH_URL", "https://es.example:9200")
    s = Settings()
    assert s.bus_url == "kafka://k1:9092,k2:9092"  # from the file
    assert s.search_url == "https://es.example:9200"  # the environment wins over the file


@pytest.mark.parametrize(
    ("field", "value", "hint"),
    [
        ("bus_url", "redis://localhost", "kafka://"),
        ("search_url", "solr://x", "http(s)://"),
        ("db_url", "mysql://x", "postgresql+psycopg://"),
    ],
)
def test_a_wrong_url_names_the_variable_and_the_fix(field: str, value: str, hint: str) -> None:
    with pytest.raises(SettingsError) as info:
        load_settings(**{field: value})
    message = str(info.value)
    assert f"YUQING_{field.upper()}" in message and hint in message


def test_cli_stops_with_one_clear_line_on_a_bad_url(tmp_path: Path) -> None:
    env = {"YUQING_BUS_URL": "amqp://nowhere", "YUQING_DATA_DIR": str(tmp_path), "PATH": "/usr/bin:/bin"}
    proc = subprocess.run([sys.executable, "-m", "yuqing.cli.main", "worker", "nlp"], env=env,
                          capture_output=True, text=True, timeout=60)
    assert proc.returncode == 2
    lines = [line for line in proc.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and "YUQING_BUS_URL" in lines[0], proc.stderr
