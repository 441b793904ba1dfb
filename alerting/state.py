"""The alert state machine: one explicit table of which action moves an alert from which state to which.

Main flow: new → acknowledged → responding → info_published → press_conference_held (when required) → closed.
Side states: snoozed (returns to where it was), supervised (督办, after a breach or on request), merged.
Guards that depend on data (evidence present, press conference required) live in alerting.service.
"""

from __future__ import annotations

from yuqing.domain import Action, Status  # the words and their labels live in yuqing.domain

__all__ = ["Action", "Status"]

S = Status
OPEN: frozenset[Status] = frozenset(
    {S.NEW, S.ACKNOWLEDGED, S.RESPONDING, S.INFO_PUBLISHED, S.PRESS_CONFERENCE_HELD, S.SNOOZED, S.SUPERVISED}
)
FINAL: frozenset[Status] = frozenset({S.CLOSED, S.MERGED})

# action -> (states it is allowed from, the state it leads to; None = the state saved when snoozing)
TRANSITIONS: dict[Action, tuple[frozenset[Status], Status | None]] = {
    Action.ACKNOWLEDGE: (frozenset({S.NEW, S.SUPERVISED}), S.ACKNOWLEDGED),
    Action.START_RESPONSE: (frozenset({S.NEW, S.ACKNOWLEDGED, S.SUPERVISED}), S.RESPONDING),
    Action.PUBLISH_INFO: (frozenset({S.ACKNOWLEDGED, S.RESPONDING, S.SUPERVISED}), S.INFO_PUBLISHED),
    Action.HOLD_PRESS_CONFERENCE: (
        frozenset({S.RESPONDING, S.INFO_PUBLISHED, S.SUPERVISED}),
        S.PRESS_CONFERENCE_HELD,
    ),
    Action.CLOSE: (frozenset({S.INFO_PUBLISHED, S.PRESS_CONFERENCE_HELD, S.SUPERVISED}), S.CLOSED),
    Action.SNOOZE: (
        frozenset({S.NEW, S.ACKNOWLEDGED, S.RESPONDING, S.INFO_PUBLISHED, S.PRESS_CONFERENCE_HELD}),
        S.SNOOZED,
    ),
    Action.UNSNOOZE: (frozenset({S.SNOOZED}), None),
    Action.SUPERVISE: (
        frozenset(
            {S.NEW, S.ACKNOWLEDGED, S.RESPONDING, S.INFO_PUBLISHED, S.PRESS_CONFERENCE_HELD, S.SNOOZED}
        ),
        S.SUPERVISED,
    ),
    Action.MERGE: (OPEN, S.MERGED),
    Action.REOPEN: (
        frozenset(
            {
                S.ACKNOWLEDGED,
                S.RESPONDING,
                S.INFO_PUBLISHED,
                S.PRESS_CONFERENCE_HELD,
                S.SNOOZED,
                S.SUPERVISED,
                S.CLOSED,
            }
        ),
        S.NEW,
    ),
    Action.ACK_TIMEOUT: (frozenset({S.ACKNOWLEDGED}), S.NEW),
}

# actions that keep the state, and the states they are allowed in
IN_PLACE: dict[Action, frozenset[Status]] = {
    Action.REASSIGN: OPEN,
    Action.RELEASE: OPEN,
    Action.RESPONSE_LINE: OPEN,
    Action.SPOKESPERSON: OPEN,
}


class InvalidTransition(ValueError):
    """This action is not allowed in the alert's current state (the API answers 409)."""

    def __init__(self, action: Action, current: str, allowed: frozenset[Status]) -> None:
        self.action = action
        self.current = current
        allowed_text = ", ".join(sorted(allowed))
        super().__init__(f"cannot {action.value} an alert that is {current}; allowed from: {allowed_text}")


def can(action: Action, current: str) -> bool:
    return current in (IN_PLACE[action] if action in IN_PLACE else TRANSITIONS[action][0])


def require(action: Action, current: str) -> None:
    """Raise InvalidTransition unless ``action`` is allowed in ``current``."""
    if not can(action, current):
        raise InvalidTransition(action, current, IN_PLACE.get(action) or TRANSITIONS[action][0])


def next_status(action: Action, current: str, *, resume: str | None = None) -> Status:
    """The state ``action`` leads to from ``current``; raises InvalidTransition when not allowed."""
    allowed, target = TRANSITIONS[action]
    if current not in allowed:
        raise InvalidTransition(action, current, allowed)
    if target is None:
        if resume is None:
            raise InvalidTransition(action, current, allowed)
        return Status(resume)
    return target
