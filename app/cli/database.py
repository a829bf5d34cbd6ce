"""Setting the stage: the database, the ICD-10 dictionary, the demo and accounts."""

from __future__ import annotations

from pathlib import Path

import click

from app.cli.common import Ctx, friendly, pass_ctx
from db.vocabulary import USER_ROLES
from pipeline.errors import SraditError

# --- db ---------------------------------------------------------------------------------------


@click.group()
def db() -> None:
    """The database."""


@db.command("init")
@pass_ctx
@friendly
def db_init(c: Ctx) -> None:
    """Create the database or migrate it to the newest schema (SRADIT_DB_URL)."""
    from pipeline.database import init_database

    revision = init_database(c.engine)
    click.echo(f"database {c.settings.db_url} is at revision {revision}")


# --- codes ------------------------------------------------------------------------------------


@click.group()
def codes() -> None:
    """The ICD-10 dictionary and the task's label space."""


@codes.command("import")
@click.argument("file", type=click.Path(path_type=Path))
@pass_ctx
@friendly
def codes_import(c: Ctx, file: Path) -> None:
    """Load a dictionary from TSV/CSV (header `code name`) or xlsx (columns 疾病编码, 疾病名称)."""
    from pipeline.audit import cli_actor
    from pipeline.ingest.dictionary import import_dictionary

    s = import_dictionary(c.ready_engine(), file, c.settings.max_import_bytes, cli_actor())
    click.echo(f"{s.total} codes: {s.inserted} new, {s.updated} renamed, {s.unchanged} unchanged")


@codes.command("show")
@click.argument("code")
@pass_ctx
@friendly
def codes_show(c: Ctx, code: str) -> None:
    """Print a code's name (and its role in the label space)."""
    from pipeline.ingest.dictionary import lookup

    info = lookup(c.ready_engine(), code)
    if info.name is None:
        hint = "".join(f"\n  {k}\t{n}" for k, n in info.neighbours)
        raise SraditError(f"code {info.code!r} is not in the dictionary" + (f"; codes nearby:{hint}" if hint else ""))
    roles = f"\t[label space: {', '.join(info.roles)}]" if info.roles else ""
    click.echo(f"{info.code}\t{info.name}{roles}")


# --- demo and users ---------------------------------------------------------------------------


@click.command("demo")
@click.option("--force", is_flag=True, help="Drop an existing database and build the demo anew.")
@click.option("--if-missing", is_flag=True, help="Do nothing when the database already exists (used by `make run`).")
@pass_ctx
@friendly
def demo_cmd(c: Ctx, force: bool, if_missing: bool) -> None:
    """Build the demo database from the project's own synthetic records, and print its accounts."""
    from app.services.demo import build_demo
    from pipeline.demo.database import has_data

    if if_missing and has_data(c.engine):
        from pipeline.accounts.users import list_users

        click.echo(f"database {c.settings.db_url} exists; keeping it (`sradit demo --force` rebuilds it)")
        names = ", ".join(f"{name} ({role})" for name, role, active, _created in list_users(c.engine) if active)
        click.echo(f"accounts: {names}; `sradit user passwd NAME` sets a new password")
        return
    demo = build_demo(c.engine, c.settings, force=force)
    click.echo(f"demo database {c.settings.db_url}")
    for line in demo.lines():
        click.echo("  " + line)
    click.echo("accounts (demo only — change them before real use):")
    for name, (role, password) in demo.base.accounts.items():
        click.echo(f"  {role:<9} {name} / {password}")


@click.group()
def user() -> None:
    """Accounts."""


@user.command("add")
@click.argument("name")
@click.option("--role", required=True, type=click.Choice(USER_ROLES))
@click.option("--password", help="At least 8 characters; without it a password is generated and printed.")
@pass_ctx
@friendly
def user_add(c: Ctx, name: str, role: str, password: str | None) -> None:
    """Add an account."""
    from pipeline.accounts.users import add_user
    from pipeline.audit import cli_actor

    generated = add_user(c.ready_engine(), name, role, password, cli_actor())
    click.echo(f"added {role} {name}" + (f" with password {generated}" if generated else ""))


@user.command("passwd")
@click.argument("name")
@click.option("--password", help="At least 8 characters; without it a password is generated and printed.")
@pass_ctx
@friendly
def user_passwd(c: Ctx, name: str, password: str | None) -> None:
    """Set a new password for an account (the old one stops working)."""
    from pipeline.accounts.users import set_password
    from pipeline.audit import cli_actor

    generated = set_password(c.ready_engine(), name, password, cli_actor())
    click.echo(f"password of {name} changed" + (f": {generated}" if generated else ""))


@user.command("role")
@click.argument("name")
@click.argument("new_role", metavar="ROLE", type=click.Choice(USER_ROLES))
@pass_ctx
@friendly
def user_role(c: Ctx, name: str, new_role: str) -> None:
    """Change an account's role (it applies from the user's next page)."""
    from pipeline.accounts.users import set_role
    from pipeline.audit import cli_actor

    set_role(c.ready_engine(), name, new_role, cli_actor())
    click.echo(f"{name} is now {new_role}")


@user.command("disable")
@click.argument("name")
@pass_ctx
@friendly
def user_disable(c: Ctx, name: str) -> None:
    """Disable an account: it cannot sign in, and an open session ends on its next page."""
    from pipeline.accounts.users import set_active
    from pipeline.audit import cli_actor

    set_active(c.ready_engine(), name, False, cli_actor())
    click.echo(f"{name} disabled")


@user.command("enable")
@click.argument("name")
@pass_ctx
@friendly
def user_enable(c: Ctx, name: str) -> None:
    """Enable a disabled account again."""
    from pipeline.accounts.users import set_active
    from pipeline.audit import cli_actor

    set_active(c.ready_engine(), name, True, cli_actor())
    click.echo(f"{name} enabled")


@user.command("unlock")
@click.argument("name")
@pass_ctx
@friendly
def user_unlock(c: Ctx, name: str) -> None:
    """Lift an account's sign-in locks and failure counts, from every client (after a guessing attack)."""
    from pipeline.accounts.throttle import unlock
    from pipeline.audit import cli_actor

    lifted = unlock(c.ready_engine(), name, cli_actor())
    click.echo(f"{name}: {lifted} sign-in counter{'s' if lifted != 1 else ''} lifted")


@user.command("list")
@pass_ctx
@friendly
def user_list(c: Ctx) -> None:
    """One line per account: name, role, and `disabled` when it is."""
    from pipeline.accounts.users import list_users

    for name, role, active, created in list_users(c.ready_engine()):
        click.echo(f"{name}\t{role}\t{'active' if active else 'disabled'}\tcreated {created}")


COMMANDS: tuple[click.Command, ...] = (db, codes, demo_cmd, user)
