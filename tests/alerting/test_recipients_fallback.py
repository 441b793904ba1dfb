"""A department entered without contacts or head never swallows an escalation: the home duty office
and its duty officer receive it instead."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

import yaml

from alerting.directory import Directory
from alerting.models import Alert
from alerting.recipients import DirectoryRecipients
from yuqing.clock import CN_TZ

FIXTURE = Path(__file__).parent / "fixtures" / "departments.yaml"
AT = datetime(2026, 11, 23, 10, 0, tzinfo=CN_TZ)


def directory_with_bare_department(tmp_path: Path) -> Directory:
    data = yaml.safe_load(FIXTURE.read_text(encoding="utf-8"))
    data["departments"].append(
        {"id": "sx-sthj", "name": "宿松县生态环境分局", "type": "生态环境局", "region": "340826"}
    )
    path = tmp_path / "departments.yaml"
    path.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    return Directory.load_yaml(path)


def test_bare_department_falls_back_to_the_duty_office(tmp_path: Path) -> None:
    recipients = DirectoryRecipients(directory_with_bare_department(tmp_path))
    alert = Alert(department_id="sx-sthj", region_code="340826")
    got = recipients(alert, ["department", "department_head", "deputy_leader"], AT)
    assert {r.name for r in got} == {"省网信办值班室", "省值班员"}
    assert {r.role for r in got} == {"fallback"}


def test_a_department_with_contacts_gets_them_not_the_fallback(tmp_path: Path) -> None:
    recipients = DirectoryRecipients(directory_with_bare_department(tmp_path))
    got = recipients(Alert(department_id="aq-sthj", region_code="3408"), ["department"], AT)
    assert [r.name for r in got] == ["安庆市生态环境局办公室"]
