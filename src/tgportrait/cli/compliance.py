"""``tgportrait compliance show|check``, ``forget`` and ``export-person``: read the rule database and the
current run; ``forget`` rewrites the workspace without a person."""

from __future__ import annotations

import click

from tgportrait.cli.common import console, json_option, open_workspace, print_json, workspace_option
from tgportrait.errors import InputError


@click.group("compliance")
def compliance_group() -> None:
    """The compliance rule database and what it allows per person."""


@compliance_group.command("show")
@click.argument("region")
@json_option
def compliance_show(region: str, as_json: bool) -> None:
    """The rules of a jurisdiction: REGION is an ISO code (ID, BR, US-CA, DE -> EU) or EU; unknown -> default.

    \b
    Example:
        tgportrait compliance show ID --json
    """
    from tgportrait.clean.compliance import jurisdiction_of

    rules = jurisdiction_of(region).as_dict()
    if as_json:
        print_json({"asked": region.upper(), **rules})
        return
    click.echo(f"{rules['name']} ({rules['region']}; {rules['file']}): {rules['law']}")
    for purpose, rule in rules["purposes"].items():
        opt_in = "opt-in consent required" if rule["opt_in_required"] else "no opt-in required"
        click.echo(f"  {purpose}: {rule['basis']} ({opt_in}); not under {rule['min_age']}  [{rule['source']}]")
    click.echo(f"  sensitive labels: {', '.join(rules['sensitive_labels'])}")
    click.echo(f"  requests: access {rules['requests']['access_days']} days, "
                  f"erasure {rules['requests']['erasure_days']} days")
    for note in rules["uncertain"]:
        click.echo(f"  uncertain: {note}")


@compliance_group.command("check")
@click.argument("person")
@workspace_option
@json_option
def compliance_check(person: str, workspace_dir: str | None, as_json: bool) -> None:
    """What the current run allows for PERSON (person id or identifier), and why."""
    from tgportrait.clean.compliance import check_person

    result = check_person(open_workspace(workspace_dir), person)
    if as_json:
        print_json(result)
        return
    allowed = ", ".join(f"{purpose} {'yes' if ok else 'no'}" for purpose, ok in result["allowed"].items())
    console.print(f"{result['person_id']}: region {result['region'] or 'unknown'}; {allowed}")
    for reason in result["reasons"]:
        click.echo(f"  {reason}")


@click.command("forget")
@click.argument("person")
@click.option("--yes", "confirmed", is_flag=True, help="Confirm the erasure (it cannot be undone).")
@workspace_option
@json_option
def forget_command(person: str, confirmed: bool, workspace_dir: str | None, as_json: bool) -> None:
    """Erase PERSON from the lake, every run, exports and the state store; tombstone their identifiers."""
    from tgportrait.clean.erasure import forget

    if not confirmed:
        raise InputError(f"'forget {person}' erases data for good and needs confirmation",
                         hint="Pass --yes to confirm.")
    result = forget(open_workspace(workspace_dir), person)
    if as_json:
        print_json(result)
        return
    removed = result["removed"]
    console.print(f"Forgot {', '.join(result['person_ids'])}: {removed['event_rows']} lake events, "
                  f"{removed['run_rows']} run rows, {removed['export_rows']} export rows, "
                  f"{removed['inbox_updates']} bot updates, {removed['link_rows']} link rows, "
                  f"{removed['state_rows']} state rows; {result['tombstones']} tombstones. "
                  f"Request due {result['request']['due_at']}.")


@click.command("export-person")
@click.argument("person")
@workspace_option
def export_person_command(person: str, workspace_dir: str | None) -> None:
    """Everything held about PERSON, as JSON on stdout (an access request)."""
    from tgportrait.clean.erasure import export_person

    print_json(export_person(open_workspace(workspace_dir), person))


COMMANDS = [compliance_group, forget_command, export_person_command]
