"""Who holds each escalation role for an alert, from the department directory and its 值班表."""

from __future__ import annotations

from datetime import datetime

from alerting.directory import Contact, Directory
from alerting.models import Alert
from alerting.outbox import Recipient

ROBOT_FIELDS = ("dingtalk", "wecom", "feishu", "webhook")


def _recipient(role: str, scope: str, contact: Contact) -> Recipient:
    robots = frozenset(getattr(contact, f) for f in ROBOT_FIELDS if getattr(contact, f))
    return Recipient(
        role=role,
        key=f"{role}:{scope}:{contact.name}",
        name=contact.name,
        email=contact.email,
        robots=robots,
        phone=contact.phone,
        wecom_userid=contact.wecom_userid,
        dingtalk_userid=contact.dingtalk_userid,
    )


class DirectoryRecipients:
    """Resolves roles against the current directory (a reassigned alert escalates in its new department).
    When no one holds the roles asked for (a department entered without contacts), the home duty office
    and its duty officer receive the message instead."""

    def __init__(self, directory: Directory) -> None:
        self.directory = directory

    def __call__(self, alert: Alert, roles: list[str], at: datetime) -> list[Recipient]:
        dept = self.directory.department(alert.department_id) if alert.department_id else None
        if dept is None:
            dept = self.directory.duty_office()
        out: list[Recipient] = []
        for role in dict.fromkeys(roles):
            if role == "department":
                out.extend(_recipient(role, dept.id, c) for c in dept.contacts)
            elif role == "department_head" and dept.head:
                out.append(_recipient(role, dept.id, dept.head))
            elif role == "deputy_leader" and dept.leader_in_charge:
                out.append(_recipient(role, dept.id, dept.leader_in_charge))
            elif role == "duty_officer":
                officer = self.directory.duty_officer(alert.region_code or dept.region, at)
                if officer is not None:
                    out.append(_recipient(role, "duty", officer))
        if not out and roles:  # nobody holds these roles: a step must never go nowhere
            out = self._duty_office_fallback(at)
        return out

    def _duty_office_fallback(self, at: datetime) -> list[Recipient]:
        office = self.directory.duty_office()
        out = [_recipient("fallback", office.id, c) for c in office.contacts]
        officer = self.directory.duty_officer(office.region, at)
        if officer is not None:
            out.append(_recipient("fallback", "duty", officer))
        return out
