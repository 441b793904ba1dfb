"""``yuqing alerts reassign|consult``: 转派 and 会商 from the command line (the duty office's scripts).

Both print the alert as JSON (id, department, 协办 departments) and exit 2 with a one-line message when
the alert, a department or the state does not allow it; the case then stays where it was.
"""

from __future__ import annotations

import json
from typing import Annotated

import typer

alerts_app = typer.Typer(help="Alerts: 转派 and 会商 (lead and 协办 departments).", no_args_is_help=True)


def _fail(command: str, message: str) -> typer.Exit:
    typer.echo(f"yuqing alerts {command}: {message}", err=True)
    return typer.Exit(2)


def _run(command: str, alert_id: int, action: str, **kw: object) -> None:
    from alerting import service
    from alerting.consult import assisting_ids, consult
    from alerting.directory import DirectoryError, load_directory
    from alerting.state import InvalidTransition
    from yuqing.clock import utcnow
    from yuqing.db.session import open_database
    from yuqing.settings import get_settings

    settings = get_settings()
    db = open_database(settings.db_url)
    try:
        with db.transaction() as session:
            directory = load_directory(session, settings)
            common = {"alert_id": alert_id, "directory": directory, "actor": kw.pop("actor"),
                      "channel": "cli", "now": utcnow()}
            if action == "reassign":
                read = service.reassign(session, **common, **kw)  # type: ignore[arg-type]
            else:
                read = consult(session, **common, **kw)  # type: ignore[arg-type]
            helpers = assisting_ids(session, alert_id)
    except service.AlertNotFound:
        raise _fail(command, f"没有编号为 {alert_id} 的预警") from None
    except (service.InvalidRequest, DirectoryError) as exc:
        raise _fail(command, str(exc)) from None
    except InvalidTransition:
        what = "转派" if action == "reassign" else "会商"
        raise _fail(command, f"预警 {alert_id} 已办结或已合并，不能{what}") from None
    finally:
        db.close()
    typer.echo(json.dumps({"id": read.id, "department_id": read.department_id,
                           "department_name": read.department_name, "assisting": helpers,
                           "assignment_reason": read.assignment_reason}, ensure_ascii=False))


@alerts_app.command("reassign")
def reassign(
    alert_id: Annotated[int, typer.Argument(help="the alert's id")],
    department: Annotated[str, typer.Argument(help="the department id (yuqing departments list)")],
    reason: Annotated[str, typer.Option(help="why (kept in the audit log)")],
    actor: Annotated[str, typer.Option(help="who does it")] = "cli",
) -> None:
    """转派: hand the alert to another department."""
    _run("reassign", alert_id, "reassign", department_id=department, reason=reason, actor=actor)


@alerts_app.command("consult")
def consult_cmd(
    alert_id: Annotated[int, typer.Argument(help="the alert's id")],
    reason: Annotated[str, typer.Option(help="why (kept in the audit log)")],
    lead: Annotated[str | None, typer.Option(help="the lead department id (default: keep it)")] = None,
    assist: Annotated[list[str] | None, typer.Option(help="a 协办 department id (repeat; the full list)")]
    = None,
    actor: Annotated[str, typer.Option(help="who does it")] = "cli",
) -> None:
    """会商: name the lead department and the 协办 departments."""
    _run("consult", alert_id, "consult", lead_department_id=lead, assisting=list(assist or []), reason=reason,
         actor=actor)
