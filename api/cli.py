"""``yuqing users …``: create console users and API tokens."""

from __future__ import annotations

from typing import Annotated

import typer

users_app = typer.Typer(help="控制台用户与 API 令牌 (console users and API tokens).", no_args_is_help=True)

ROLE_HELP = "admin | duty_officer | department | leader | analyst"


@users_app.command("create")
def create(
    name: Annotated[str, typer.Argument(help="login name")],
    role: Annotated[str, typer.Option("--role", help=ROLE_HELP)],
    department: Annotated[
        str | None, typer.Option("--department", help="department id (role department)")
    ] = None,
    password: Annotated[str | None, typer.Option("--password", help="omit to be prompted")] = None,
    display_name: Annotated[str, typer.Option("--display-name")] = "",
) -> None:
    """Create a user. The password is prompted for (twice) unless given. ``--department`` must be in the
    department directory: the one imported into the database, else the YAML file (as in the console)."""
    from alerting.directory import department_names
    from api.auth.users import UserError, check_department, create_user
    from yuqing.clock import SystemClock
    from yuqing.db.session import open_database
    from yuqing.settings import get_settings

    if password is None:
        password = typer.prompt("密码 password", hide_input=True, confirmation_prompt=True)
    settings = get_settings()
    settings.ensure_data_dir()
    db = open_database(settings.db_url)
    try:
        with db.transaction() as session:
            if department:
                directory = department_names(session, settings)
                check_department(department, directory.names, unavailable=directory.unavailable)
            user = create_user(
                session,
                name,
                role,
                password,
                department_id=department,
                display_name=display_name,
                now=SystemClock().now(),
            )
            typer.echo(f"created user {user.name} ({user.role}{', ' + department if department else ''})")
    except UserError as exc:
        typer.echo(f"yuqing users create: {exc}", err=True)
        raise typer.Exit(2) from None
    finally:
        db.close()


@users_app.command("token")
def token(
    name: Annotated[str, typer.Argument(help="the user the token acts as")],
    label: Annotated[str, typer.Option("--label", help="what the token is for")] = "integration",
) -> None:
    """Issue an API token (printed once; send as ``Authorization: Bearer <token>``)."""
    from api.auth.tokens import issue_token
    from api.auth.users import user_by_name
    from yuqing.clock import SystemClock
    from yuqing.db.session import open_database
    from yuqing.settings import get_settings

    settings = get_settings()
    settings.ensure_data_dir()
    db = open_database(settings.db_url)
    try:
        with db.transaction() as session:
            user = user_by_name(session, name)
            if user is None:
                typer.echo(f"yuqing users token: no user named {name}", err=True)
                raise typer.Exit(2)
            _, plain = issue_token(session, user, label, now=SystemClock().now())
        typer.echo(plain)
    finally:
        db.close()


def register(app: typer.Typer) -> None:
    """Add this domain's commands to the main app."""
    app.add_typer(users_app, name="users")
