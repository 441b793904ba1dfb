"""Infrastructure settings, from environment variables (``YUQING_*``) and an optional TOML file.

Behaviour (sources, alert rules, departments, playbooks) lives in YAML files validated on load;
this module only says where things are and how to reach the external systems.
"""

from __future__ import annotations

import ipaddress
import os
import tomllib
from functools import lru_cache
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

from pydantic import Field, ValidationError, field_validator, model_validator
from pydantic_settings import BaseSettings, PydanticBaseSettingsSource, SettingsConfigDict

PROJECT_ROOT = Path(__file__).resolve().parent.parent


class SettingsError(ValueError):
    """A setting is wrong; the message says which one and what to fix."""


class _TomlSource(PydanticBaseSettingsSource):
    """Reads ``YUQING_CONFIG`` (or ./yuqing.toml when present); keys are the field names."""

    def __init__(self, settings_cls: type[BaseSettings]) -> None:
        super().__init__(settings_cls)
        path = os.environ.get("YUQING_CONFIG")
        self._data: dict[str, Any] = {}
        candidate = Path(path) if path else Path("yuqing.toml")
        if candidate.is_file():
            with candidate.open("rb") as fh:
                self._data = tomllib.load(fh)
        elif path:
            raise SettingsError(f"YUQING_CONFIG points to {path}, which is not a file")

    def get_field_value(self, field: Any, field_name: str) -> tuple[Any, str, bool]:
        return self._data.get(field_name), field_name, False

    def __call__(self) -> dict[str, Any]:
        return {k: v for k, v in self._data.items() if k in self.settings_cls.model_fields}


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="YUQING_", extra="ignore")

    data_dir: Path = Field(default=Path("var"), description="Where the embedded defaults keep their files")
    bus_url: str = Field(default="", description="sqlite:///path (default) or kafka://host:9092,host2:9092")
    search_url: str = Field(default="", description="sqlite:///path (default, FTS5) or http(s)://es-host:9200")
    db_url: str = Field(default="", description="sqlite:///path (default) or postgresql+psycopg://…")
    console_url: str = Field(default="http://127.0.0.1:8000", description="Base URL used in deep links")
    api_host: str | None = Field(default=None, description="Where `yuqing worker api` listens; default: "
                                 "the console URL's host")
    api_port: int | None = Field(default=None, ge=1, le=65535, description="default: the console URL's port")
    secret_key: str = Field(default="", description="Signs sessions; generated into data_dir if empty")
    trusted_proxies: str = Field(
        default="",
        description="Comma-separated IPs / CIDR networks of reverse proxies whose X-Forwarded-For and "
        "X-Forwarded-Proto the API believes; empty: none (the peer's address is the client's)",
    )
    sources_dir: Path = Field(default=PROJECT_ROOT / "crawlers" / "sources")
    rules_file: Path = Field(default=PROJECT_ROOT / "alerting" / "config" / "rules.yaml")
    departments_file: Path = Field(default=PROJECT_ROOT / "alerting" / "config" / "departments.yaml")
    policies_file: Path = Field(default=PROJECT_ROOT / "alerting" / "config" / "policies.yaml")
    reports_file: Path = Field(default=PROJECT_ROOT / "reports" / "config" / "reports.yaml",
                               description="日报 / 周报 schedule and recipients (the reports stage)")
    calendar_overrides_file: Path | None = Field(default=None, description="Official holiday schedules")
    playbooks_dir: Path = Field(default=PROJECT_ROOT / "response_playbooks")
    model_path: Path | None = Field(default=None, description="NLP model file; default: the shipped baseline")
    es_index_prefix: str = Field(default="yuqing")
    bus_partitions: int = Field(default=4, ge=1, le=256, description="Partitions per topic on the SQLite bus")
    log_level: str = Field(default="INFO")

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        return (init_settings, env_settings, _TomlSource(settings_cls))

    @model_validator(mode="after")
    def _fill_defaults(self) -> Settings:
        d = self.data_dir
        if not self.bus_url:
            self.bus_url = f"sqlite:///{d / 'bus.sqlite3'}"
        if not self.search_url:
            self.search_url = f"sqlite:///{d / 'search.sqlite3'}"
        if not self.db_url:
            self.db_url = f"sqlite:///{d / 'yuqing.sqlite3'}"
        return self

    @field_validator("bus_url")
    @classmethod
    def _check_bus(cls, v: str) -> str:
        if v and urlparse(v).scheme not in ("sqlite", "kafka"):
            raise ValueError(f"YUQING_BUS_URL={v!r}: use sqlite:///path or kafka://host:9092[,host:9092]")
        return v

    @field_validator("search_url")
    @classmethod
    def _check_search(cls, v: str) -> str:
        if v and urlparse(v).scheme not in ("sqlite", "http", "https"):
            raise ValueError(f"YUQING_SEARCH_URL={v!r}: use sqlite:///path or http(s)://elasticsearch:9200")
        return v

    @field_validator("db_url")
    @classmethod
    def _check_db(cls, v: str) -> str:
        if v and not (v.startswith("sqlite") or v.startswith("postgresql")):
            raise ValueError(f"YUQING_DB_URL={v!r}: use sqlite:///path or postgresql+psycopg://user@host/db")
        return v

    @field_validator("trusted_proxies")
    @classmethod
    def _check_trusted_proxies(cls, v: str) -> str:
        for entry in (e.strip() for e in v.split(",")):
            if not entry:
                continue
            try:
                ipaddress.ip_network(entry, strict=False)
            except ValueError:
                raise ValueError(
                    f"{entry!r} is not an IP address or network "
                    "(e.g. 10.0.0.5,10.1.0.0/16)"
                ) from None
        return v

    @property
    def trusted_proxy_list(self) -> list[str]:
        """The trusted proxies' addresses and networks (``10.1.2.3/16`` as ``10.1.0.0/16``)."""
        entries = [e.strip() for e in self.trusted_proxies.split(",") if e.strip()]
        return [str(ipaddress.ip_network(e, strict=False)) if "/" in e else e for e in entries]

    def ensure_data_dir(self) -> Path:
        self.data_dir.mkdir(parents=True, exist_ok=True)
        return self.data_dir


def load_settings(**overrides: Any) -> Settings:
    """Build settings; turn validation errors into one readable SettingsError."""
    try:
        return Settings(**overrides)
    except ValidationError as exc:
        lines = []
        for err in exc.errors():
            loc = ".".join(str(p) for p in err["loc"]) or "settings"
            lines.append(f"YUQING_{loc.upper()}: {err['msg']}")
        raise SettingsError("; ".join(lines)) from None


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    return load_settings()
