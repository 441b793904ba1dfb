"""Tables of the department directory (on yuqing.db.base.Base): departments with their contacts and
leaders, duty rosters (值班表), and the directory-wide settings. ``alerting.directory`` reads and writes them;
``yuqing departments import FILE`` replaces them from YAML in one transaction."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import Date, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from yuqing.db.base import Base, JSONType, UTCDateTime


class DepartmentRow(Base):
    """One government department in one region (e.g. 安庆市生态环境局)."""

    __tablename__ = "departments"

    id: Mapped[str] = mapped_column(String(60), primary_key=True)
    name: Mapped[str] = mapped_column(Text)
    type: Mapped[str] = mapped_column(String(60), index=True, doc="卫生健康委员会, 教育局, 网信办 …")
    level: Mapped[str] = mapped_column(String(10), doc="province | city | county")
    region_code: Mapped[str] = mapped_column(String(12), index=True, doc="2023 NBS code, 2/4/6 digits")
    contacts: Mapped[list[dict[str, Any]]] = mapped_column(JSONType, default=list)
    head: Mapped[dict[str, Any] | None] = mapped_column(JSONType, doc="负责人")
    leader_in_charge: Mapped[dict[str, Any] | None] = mapped_column(JSONType, doc="分管领导")
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)


class DutyRosterRow(Base):
    """A region's 值班表: officers take daily turns from ``rotation_start``, changing at ``handover``."""

    __tablename__ = "duty_rosters"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    region_code: Mapped[str] = mapped_column(String(12), index=True)
    handover: Mapped[str] = mapped_column(String(8), doc="local time of the daily change, HH:MM")
    rotation_start: Mapped[date] = mapped_column(Date)
    officers: Mapped[list[dict[str, Any]]] = mapped_column(JSONType, default=list)


class DutyShiftRow(Base):
    """An explicit shift (e.g. 节假日值班) that takes precedence over the rotation."""

    __tablename__ = "duty_shifts"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    region_code: Mapped[str] = mapped_column(String(12), index=True)
    starts_at: Mapped[datetime] = mapped_column(UTCDateTime)
    ends_at: Mapped[datetime] = mapped_column(UTCDateTime)
    officer: Mapped[dict[str, Any]] = mapped_column(JSONType)


class DirectorySettingRow(Base):
    """Directory-wide settings: home region, duty-office type, region names, category → department type."""

    __tablename__ = "directory_settings"

    key: Mapped[str] = mapped_column(String(40), primary_key=True)
    value: Mapped[Any] = mapped_column(JSONType)
