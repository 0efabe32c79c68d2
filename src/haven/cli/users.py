"""``haven createsuperuser``: an administrator account, from flags or prompts."""

from __future__ import annotations

import uuid
from typing import Annotated

import typer
from pydantic import ValidationError
from rich.markup import escape

from haven.accounts import flows as accounts
from haven.accounts.schemas import RegisterRequest
from haven.cli.plumbing import DatabaseUrl, console, fail, load_settings, run, transaction


def create_superuser(
    email: Annotated[str | None, typer.Option(help="Sign-in email.", show_default=False)] = None,
    password: Annotated[
        str | None,
        typer.Option(
            help="Password (8+ characters). Prompted, hidden, when omitted; a flag may end up "
            "in your shell history.",
            show_default=False,
        ),
    ] = None,
    name: Annotated[str | None, typer.Option(help="Display name.", show_default=False)] = None,
    timezone: Annotated[
        str | None, typer.Option(help="IANA time zone, e.g. Europe/Berlin.", show_default=False)
    ] = None,
    no_input: Annotated[
        bool, typer.Option("--no-input", help="Never prompt: missing --email/--password fail.")
    ] = False,
    database_url: DatabaseUrl = None,
) -> None:
    """Create an administrator account (with its personal workspace)."""
    if no_input:
        missing = [
            flag for flag, value in (("--email", email), ("--password", password)) if not value
        ]
        if missing:
            raise typer.BadParameter(
                "required with --no-input", param_hint=" and ".join(f"'{m}'" for m in missing)
            )
    else:
        email = email or typer.prompt("Email")
        password = password or typer.prompt("Password", hide_input=True, confirmation_prompt=True)
        if name is None:
            name = typer.prompt("Name", default="", show_default=False)
        if timezone is None:
            timezone = typer.prompt("Time zone", default="UTC")
    try:
        data = RegisterRequest(
            email=email, password=password, name=name or "", timezone=timezone or "UTC"
        )
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(map(str, error['loc']))}: {error['msg']}" for error in exc.errors()
        )
        fail(problems, code=2)
    settings = load_settings(database_url)

    async def create() -> tuple[uuid.UUID, str]:
        async with transaction(settings) as session:
            user = await accounts.sign_up(
                session,
                email=data.email,
                password=data.password,
                name=data.name,
                timezone=data.timezone,
                is_superuser=True,
            )
            return user.id, user.email

    user_id, user_email = run(create())
    console.print(f"[green]✓[/] superuser [bold]{escape(user_email)}[/] created (id {user_id})")
