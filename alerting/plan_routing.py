"""Routing a plan's incidents to its owners through the existing outbox: when an incident that matches
plans opens an alert or raises its level, the plans' owner departments (their directory contacts, who see
it on the department workbench) and owner users (``user:NAME``) are added to the recipients the directory
gives; the outbox's dedup, rate limits and digests apply as to every notice."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from alerting.outbox import Recipient
from alerting.recipients import _recipient
from nlp.plans.models import PlanRow

PLAN_OWNER_ROLE = "plan_owner"


@dataclass(frozen=True)
class Owners:
    users: tuple[str, ...] = ()
    departments: tuple[str, ...] = ()
    channels: tuple[str, ...] | None = None  # the plans' channels: only these (None: a plan names none)


def plan_owners(session: Session, plan_ids: Sequence[int]) -> Owners:
    """The owners of the active plans among ``plan_ids``."""
    if not plan_ids:
        return Owners()
    rows = session.scalars(select(PlanRow).where(PlanRow.id.in_(list(plan_ids)), PlanRow.paused.is_(False)))
    users: dict[str, None] = {}
    departments: dict[str, None] = {}
    channels: dict[str, None] | None = {}
    for row in rows:
        users.update(dict.fromkeys(row.owner_users or []))
        departments.update(dict.fromkeys(row.owner_departments or []))
        if not row.channels:
            channels = None  # a plan naming no channel: its owners go the usual way
        elif channels is not None:
            channels.update(dict.fromkeys(row.channels))
    return Owners(tuple(users), tuple(departments), None if channels is None else tuple(channels))


def owner_recipients(directory: Any, owners: Owners) -> list[Recipient]:
    """The owner departments' directory contacts and the owner users (``user:NAME``: their console inbox).
    When the plans name channels, each owner is reached on those only, group robots among them included."""
    out: list[Recipient] = []
    for dept_id in owners.departments:
        dept = directory.department(dept_id)
        if dept is not None:
            out.extend(_recipient("department", dept.id, c) for c in dept.contacts)
    out.extend(Recipient(role=PLAN_OWNER_ROLE, key=f"user:{name}", name=name) for name in owners.users)
    if owners.channels is None:
        return out
    only = frozenset(owners.channels)
    return [replace(r, only_channels=only, robots=r.robots | only) for r in out]


class WithPlanOwners:
    """A recipients resolver (``DirectoryRecipients``) plus the current incident's plan owners."""

    def __init__(self, base: Callable[[Any, list[str], datetime], list[Recipient]], directory: Any,
                 owners: Owners) -> None:
        self.base = base
        self.directory = directory
        self.owners = owners

    def __call__(self, alert: Any, roles: list[str], at: datetime) -> list[Recipient]:
        out = list(self.base(alert, roles, at))
        keys = {r.key for r in out}
        for recipient in owner_recipients(self.directory, self.owners):
            if recipient.key not in keys:
                keys.add(recipient.key)
                out.append(recipient)
        return out
