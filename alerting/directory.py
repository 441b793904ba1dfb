"""The department directory and who answers for an incident.

Assignment follows 属地管理、分级负责、谁主管谁负责:

* 谁主管谁负责 — the incident's department type (from the NLP, else its category through the
  directory's ``category_types`` exceptions, else the core table ``yuqing/data/departments.tsv``) picks
  the kind of department;
* 属地管理 — the incident's place picks the region: that region's department of that type;
* 分级负责 — a region without such a department hands it to the level above (county → city → province);
  places in several regions go to their common higher level;
* a department type that neither the region nor any region above it has goes to the place's own
  ``duty_office_type`` department (网信办 by default), which coordinates;
* a place that is unknown, or outside the directory, goes to the duty office (the ``duty_office_type``
  department of the ``home_region``).

Region codes are the 2023 NBS codes in their short form (34 安徽省, 3408 安庆市, 340803 大观区);
6-digit padded forms (340000, 340800) and 9/12-digit township codes are accepted and shortened.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator
from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from alerting.directory_models import DepartmentRow, DirectorySettingRow, DutyRosterRow, DutyShiftRow
from yuqing.clock import CN_TZ
from yuqing.safe_input import ConfigFileError, describe_validation_error, load_yaml_file
from yuqing.schemas import Location
from yuqing.settings import Settings
from yuqing.taxonomy import load_taxonomy

log = logging.getLogger(__name__)

AdminLevel = Literal["province", "city", "county"]
_LEVEL_BY_LENGTH: dict[int, AdminLevel] = {2: "province", 4: "city", 6: "county"}
_CODE = re.compile(r"^\d{2}(?:\d{2}){0,2}$")
_DEPARTMENT_ID = re.compile(r"^\w[\w.-]*$")


class DirectoryError(ValueError):
    """The directory file (or its rows) is wrong; the message names the file and the field."""


def normalize_region(code: str) -> str:
    """The short NBS form of a region code: '340000' → '34', '340800' → '3408', '340803001' → '340803'."""
    code = code.strip()
    if not code.isdigit():
        raise ValueError(f"region code {code!r} is not a number")
    if len(code) in (9, 12):
        code = code[:6]
    if len(code) == 6:
        code = code[:2] if code.endswith("0000") else code[:4] if code.endswith("00") else code
    if not _CODE.match(code):
        raise ValueError(f"region code {code!r} must have 2, 4 or 6 digits (2023 NBS code)")
    return code


def region_chain(code: str) -> list[str]:
    """The region and the ones above it, nearest first: '340803' → ['340803', '3408', '34']."""
    return [code[:n] for n in (6, 4, 2) if n <= len(code)]


def common_region(codes: Iterable[str]) -> str | None:
    """The nearest region containing every one of ``codes``; None when they lie in different provinces."""
    codes = list(codes)
    for n in (6, 4, 2):
        heads = {c[:n] for c in codes}
        if len(heads) == 1 and all(len(c) >= n for c in codes):
            return heads.pop()
    return None


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Contact(_Strict):
    """A person or an office, and how to reach them. Robot fields hold the id of a robot configured in
    the notification channels (its webhook URL and secret stay out of the directory)."""

    name: str = Field(min_length=1)
    title: str | None = Field(default=None, description="职务")
    phone: str | None = None
    email: str | None = None
    dingtalk: str | None = None
    wecom: str | None = None
    feishu: str | None = None
    webhook: str | None = None
    wecom_userid: str | None = Field(default=None, description="企业微信 userid: 应用消息 to this person")
    dingtalk_userid: str | None = Field(default=None, description="钉钉 userid: 工作通知 to this person")

    @field_validator("email")
    @classmethod
    def _email_shape(cls, v: str | None) -> str | None:
        if v is not None and not re.fullmatch(r"[^@\s]+@[^@\s]+\.[^@\s]+", v):
            raise ValueError(f"{v!r} is not an email address")
        return v


def _region_field(v: Any) -> str:
    if isinstance(v, int):  # YAML reads an unquoted 340803 as a number
        v = str(v)
    if not isinstance(v, str):
        raise ValueError("give the region code as a string, e.g. \"340803\"")
    return normalize_region(v)


class Department(_Strict):
    id: str = Field(min_length=1, max_length=60)
    name: str = Field(min_length=1)
    type: str = Field(min_length=1, description="卫生健康委员会, 教育局, 生态环境局, 网信办 …")
    region: str = Field(description="2023 NBS region code")
    level: AdminLevel | None = Field(default=None, description="province | city | county; from the code")
    contacts: tuple[Contact, ...] = ()
    head: Contact | None = Field(default=None, description="负责人")
    leader_in_charge: Contact | None = Field(default=None, description="分管领导")

    _region = field_validator("region", mode="before")(_region_field)

    @field_validator("id")
    @classmethod
    def _plain_id(cls, v: str) -> str:
        if not _DEPARTMENT_ID.match(v):
            raise ValueError(
                f"id {v!r} may only hold letters, digits, '-', '_' and '.', no spaces or '/' "
                "(fix: e.g. ha-wxb)"
            )
        return v

    @model_validator(mode="after")
    def _level_matches_code(self) -> Department:
        implied = _LEVEL_BY_LENGTH[len(self.region)]
        if self.level is None:
            object.__setattr__(self, "level", implied)
        elif self.level != implied:
            raise ValueError(f"level {self.level!r} does not match region {self.region} (a {implied})")
        return self


class DutyShift(_Strict):
    start: datetime
    end: datetime
    officer: Contact

    @model_validator(mode="after")
    def _ordered(self) -> DutyShift:
        if self.start.tzinfo is None or self.end.tzinfo is None:
            raise ValueError("shift start and end need a UTC offset, e.g. 2026-12-31T18:00:00+08:00")
        if self.end <= self.start:
            raise ValueError("shift ends before it starts")
        return self


class DutyRoster(_Strict):
    """值班表 of one region: ``officers`` take daily turns from ``rotation_start`` (handover at local
    ``handover`` time); ``shifts`` name who is on duty for set periods (holidays) and win over the turn."""

    region: str
    handover: time = time(8, 30)
    rotation_start: date
    officers: tuple[Contact, ...] = Field(min_length=1)
    shifts: tuple[DutyShift, ...] = ()

    _region = field_validator("region", mode="before")(_region_field)

    @field_validator("handover", mode="before")
    @classmethod
    def _quoted_time(cls, v: Any) -> Any:
        if isinstance(v, int):  # YAML 1.1 reads an unquoted 08:30 as the number 510
            raise ValueError('write the time in quotes, e.g. "08:30"')
        return v

    def officer_at(self, at: datetime) -> Contact:
        for shift in self.shifts:
            if shift.start <= at < shift.end:
                return shift.officer
        local = at.astimezone(CN_TZ)
        day = local.date() if local.time() >= self.handover else local.date() - timedelta(1)
        return self.officers[(day - self.rotation_start).days % len(self.officers)]


class DirectoryConfig(_Strict):
    """The whole directory as written in departments.yaml (and as stored in the database)."""

    home_region: str = Field(description="region whose duty office takes unknown places")
    duty_office_type: str = "网信办"
    regions: dict[str, str] = Field(default_factory=dict, description="region code → name, for messages")
    category_types: dict[str, str] = Field(
        default_factory=dict, description="local exceptions to the NLP's category → department type table"
    )
    departments: tuple[Department, ...] = Field(min_length=1)
    duty_rosters: tuple[DutyRoster, ...] = ()

    _home = field_validator("home_region", mode="before")(_region_field)

    @field_validator("regions", mode="before")
    @classmethod
    def _region_keys(cls, v: Any) -> Any:
        if not isinstance(v, dict):
            return v
        return {_region_field(code): name for code, name in v.items()}

    @model_validator(mode="after")
    def _consistent(self) -> DirectoryConfig:
        seen: set[str] = set()
        for dept in self.departments:
            if dept.id in seen:
                raise ValueError(f"departments: id {dept.id!r} is used twice")
            seen.add(dept.id)
        if not any(
            d.type == self.duty_office_type and d.region == self.home_region for d in self.departments
        ):
            raise ValueError(
                f"home_region: no {self.duty_office_type} department in region {self.home_region} "
                "to act as the duty office"
            )
        regions = [r.region for r in self.duty_rosters]
        if len(regions) != len(set(regions)):
            raise ValueError("duty_rosters: one roster per region")
        return self


def _dump(contact: Contact | None) -> dict[str, Any] | None:
    return contact.model_dump(exclude_none=True) if contact else None


def parse_config(raw: Any, *, origin: str) -> DirectoryConfig:
    """Validate a directory; errors name ``origin`` and each wrong field (e.g. departments.3.region)."""
    try:
        return DirectoryConfig.model_validate(raw)
    except ValidationError as exc:
        raise DirectoryError(f"{origin}: {describe_validation_error(exc)}") from None


@dataclass(frozen=True)
class Assignment:
    department_id: str
    department_name: str
    region_code: str
    level: str
    reason: str


class Directory:
    """Departments by region and type, duty rosters, and the assignment rules."""

    def __init__(self, config: DirectoryConfig) -> None:
        self.config = config
        self._by_id = {d.id: d for d in config.departments}
        self._by_region_type = {(d.region, d.type): d for d in config.departments}
        self._rosters = {r.region: r for r in config.duty_rosters}

    # -- loading and storing -------------------------------------------------------------------

    @classmethod
    def load_yaml(cls, path: Path) -> Directory:
        try:
            raw = load_yaml_file(path, what="directory")
        except ConfigFileError as exc:
            raise DirectoryError(str(exc)) from None
        return cls(parse_config(raw, origin=str(path)))

    @classmethod
    def from_db(cls, session: Session) -> Directory:
        settings = {row.key: row.value for row in session.scalars(select(DirectorySettingRow))}
        departments = [
            {
                "id": row.id, "name": row.name, "type": row.type, "region": row.region_code,
                "level": row.level, "contacts": row.contacts, "head": row.head,
                "leader_in_charge": row.leader_in_charge,
            }
            for row in session.scalars(
                select(DepartmentRow).order_by(DepartmentRow.region_code, DepartmentRow.id)
            )
        ]
        shifts: dict[str, list[dict[str, Any]]] = {}
        for shift in session.scalars(select(DutyShiftRow).order_by(DutyShiftRow.starts_at)):
            shifts.setdefault(shift.region_code, []).append(
                {"start": shift.starts_at, "end": shift.ends_at, "officer": shift.officer}
            )
        rosters = [
            {
                "region": row.region_code, "handover": row.handover, "rotation_start": row.rotation_start,
                "officers": row.officers, "shifts": shifts.get(row.region_code, []),
            }
            for row in session.scalars(select(DutyRosterRow).order_by(DutyRosterRow.id))
        ]
        if not departments:
            raise DirectoryError("database: no departments stored; run `yuqing departments import FILE`")
        return cls(parse_config({**settings, "departments": departments, "duty_rosters": rosters},
                                origin="database"))

    def save(self, session: Session, *, now: datetime) -> None:
        """Replace the stored directory with this one (inside the caller's transaction)."""
        for table in (DutyShiftRow, DutyRosterRow, DepartmentRow, DirectorySettingRow):
            session.execute(delete(table))
        cfg = self.config
        for key in ("home_region", "duty_office_type", "regions", "category_types"):
            session.add(DirectorySettingRow(key=key, value=getattr(cfg, key)))
        for d in cfg.departments:
            session.add(DepartmentRow(
                id=d.id, name=d.name, type=d.type, level=d.level, region_code=d.region,
                contacts=[c.model_dump(exclude_none=True) for c in d.contacts],
                head=_dump(d.head),
                leader_in_charge=_dump(d.leader_in_charge),
                updated_at=now,
            ))
        for r in cfg.duty_rosters:
            session.add(DutyRosterRow(
                region_code=r.region, handover=r.handover.strftime("%H:%M"), rotation_start=r.rotation_start,
                officers=[o.model_dump(exclude_none=True) for o in r.officers],
            ))
            for s in r.shifts:
                session.add(DutyShiftRow(
                    region_code=r.region, starts_at=s.start, ends_at=s.end,
                    officer=s.officer.model_dump(exclude_none=True),
                ))
        session.flush()

    # -- look-ups ------------------------------------------------------------------------------

    @property
    def departments(self) -> Sequence[Department]:
        return self.config.departments

    def department(self, department_id: str) -> Department | None:
        return self._by_id.get(department_id)

    def duty_office(self) -> Department:
        return self._by_region_type[(self.config.home_region, self.config.duty_office_type)]

    def duty_officer(self, region_code: str, at: datetime) -> Contact | None:
        """Who is on duty for ``region_code`` at ``at``: that region's 值班表, else the nearest region above
        with one, else the home region's."""
        if at.tzinfo is None:
            raise ValueError("duty_officer needs a timezone-aware time")
        try:
            chain = region_chain(normalize_region(region_code))
        except ValueError:
            chain = []
        for code in [*chain, self.config.home_region]:
            if code in self._rosters:
                return self._rosters[code].officer_at(at)
        return None

    def type_for_category(self, category: str | None) -> str | None:
        """The department type that answers for ``category``: the directory's exception, else the NLP's."""
        if not category:
            return None
        return self.config.category_types.get(category) or load_taxonomy().department_for(category)

    def region_name(self, code: str, fallback: str | None = None) -> str:
        return f"{self.config.regions.get(code) or fallback or '地区'}({code})"

    # -- assignment ----------------------------------------------------------------------------

    def assign(
        self,
        *,
        category: str | None,
        department_type: str | None,
        locations: list[Location],
        min_level: AdminLevel | None = None,
        why_level: str = "",
    ) -> Assignment:
        """The responsible department for an incident, with the rule that chose it. ``min_level``
        (分级负责): the lowest administrative level that may answer, e.g. ``city`` for a 重大 event in a
        county; ``why_level`` says why in the reason."""
        dtype = department_type or self.type_for_category(category)
        names: dict[str, str] = {}
        for loc in locations:
            try:
                names.setdefault(normalize_region(loc.code), loc.name)
            except ValueError:
                continue
        # A place inside another listed place is the same incident site: keep the most specific.
        places = sorted(c for c in names if not any(o != c and o.startswith(c) for o in names))
        if not places:
            return self._to_duty_office("地点不明：未识别出事发地")
        if len(places) == 1:
            region, how = places[0], f"属地管理：事发地 {self.region_name(places[0], names[places[0]])}"
        else:
            listed = "、".join(self.region_name(c, names[c]) for c in places)
            common = common_region(places)
            if common is None:
                return self._to_duty_office(f"跨省事件：涉及 {listed}，无共同上级")
            region = common
            how = f"跨区域：涉及 {listed}，由共同上级 {self.region_name(common)} 负责"
        width = {"province": 2, "city": 4, "county": 6}[min_level] if min_level else 6
        if len(region) > width:
            region = region[:width]
            how = f"{how}；分级负责：{why_level or '按级别'}由 {self.region_name(region)} 负责"
        if dtype is None:
            dtype = self.config.duty_office_type
            what = f"类别不明，由属地{dtype}牵头"
        elif department_type:
            what = f"谁主管谁负责：主管部门类型 {dtype}"
        else:
            what = f"谁主管谁负责：类别 {category} → {dtype}"
        found = self._nearest(region, dtype)
        if found is None and dtype != self.config.duty_office_type:
            # No such department here or above (e.g. a type this directory does not list):
            # the place's own duty-office department coordinates.
            what = f"{what}；目录中该地及上级均无{dtype}，由属地{self.config.duty_office_type}协调"
            dtype = self.config.duty_office_type
            found = self._nearest(region, dtype)
        if found is None:
            return self._to_duty_office(f"{how}；目录中该地及上级均无{dtype}")
        dept, code = found
        step = "" if code == region else (
            f"；分级负责：{self.region_name(region)} 无{dtype}，上移至 {self.region_name(code)}"
        )
        return self._assignment(dept, f"{how}；{what}{step}")

    def _nearest(self, region: str, dtype: str) -> tuple[Department, str] | None:
        """The department of ``dtype`` in ``region`` or the nearest region above it, and that region."""
        for code in region_chain(region):
            dept = self._by_region_type.get((code, dtype))
            if dept is not None:
                return dept, code
        return None

    def _to_duty_office(self, why: str) -> Assignment:
        office = self.duty_office()
        return self._assignment(office, f"{why}，交值班部门 {office.name}")

    @staticmethod
    def _assignment(dept: Department, reason: str) -> Assignment:
        assert dept.level is not None
        return Assignment(
            department_id=dept.id, department_name=dept.name, region_code=dept.region, level=dept.level,
            reason=reason,
        )


def load_directory(session: Session, settings: Settings) -> Directory:
    """The directory in the database when one was imported, else the configured YAML file."""
    if session.scalar(select(DepartmentRow.id).limit(1)) is not None:
        return Directory.from_db(session)
    return Directory.load_yaml(settings.departments_file)


@dataclass(frozen=True)
class DepartmentNames:
    """Department id → name from the directory; when it cannot be read, no names and why not."""

    names: dict[str, str]
    unavailable: str | None = None


def department_names(session: Session, settings: Settings) -> DepartmentNames:
    """The names of the directory ``load_directory`` reads. A directory that cannot be read is no reason
    to refuse a page that only wants names: the caller shows department ids (or names it already has)
    and says so; the reason is logged."""
    try:
        directory = load_directory(session, settings)
    except DirectoryError as exc:
        log.warning("department directory unavailable, showing department ids instead of names: %s", exc)
        return DepartmentNames({}, str(exc))
    return DepartmentNames({d.id: d.name for d in directory.departments})
