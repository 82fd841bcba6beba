"""``tgportrait screen add|list|run|remove``: saved screening rules (reads/writes the ``screens`` state table)."""

from __future__ import annotations

from pathlib import Path

import click

from tgportrait.cli.common import console, json_option, open_workspace, print_json, workspace_option


@click.group("screen")
def screen_group() -> None:
    """Saved screening rules in the rule language, checked when saved and run over the current build."""


@screen_group.command("add")
@click.argument("name")
@click.argument("rule")
@click.option("--replace", is_flag=True, help="Overwrite a screen of the same name.")
@workspace_option
@json_option
def screen_add(name: str, rule: str, replace: bool, workspace_dir: str | None, as_json: bool) -> None:
    """Save RULE as the screen NAME (every error in the rule is shown, with a caret).

    \b
    Example:
        tgportrait screen add new-product-buyers 'orders_90d >= 1 and asked("new_product", days=90)'
    """
    from tgportrait.classify.screens import add_screen

    screen = add_screen(open_workspace(workspace_dir), name, rule, replace=replace)
    if as_json:
        print_json(screen.as_dict())
        return
    console.print(f"Saved screen [bold]{screen.name}[/]: {screen.rule}")


@screen_group.command("list")
@workspace_option
@json_option
def screen_list(workspace_dir: str | None, as_json: bool) -> None:
    """List the saved screens."""
    from tgportrait.classify.screens import list_screens

    screens = list_screens(open_workspace(workspace_dir))
    if as_json:
        print_json([screen.as_dict() for screen in screens])
        return
    for screen in screens:
        console.print(f"[bold]{screen.name}[/]  {screen.rule}")
    console.print(f"{len(screens)} screens.")


@screen_group.command("run")
@click.argument("name")
@click.option("--export", "export_path", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="Write the members to a .csv or .parquet file.")
@workspace_option
@json_option
def screen_run(name: str, export_path: Path | None, workspace_dir: str | None, as_json: bool) -> None:
    """Count (and export) the persons of the current run matching the screen NAME."""
    from tgportrait.classify.screens import run_screen
    from tgportrait.portrait.segments import export_segment

    result = run_screen(open_workspace(workspace_dir), name)
    if export_path is not None:
        export_segment(result, export_path)
    if as_json:
        document = {"screen": name, **result.as_dict()}
        if export_path is not None:
            document["export"] = str(export_path)
        print_json(document)
        return
    console.print(f"[bold]{name}[/]: {result.count:,} of {result.total:,} persons ({result.share:.1%}): "
                  f"{result.explanation}")
    if export_path is not None:
        console.print(f"Exported to {export_path}")


@screen_group.command("remove")
@click.argument("name")
@workspace_option
def screen_remove(name: str, workspace_dir: str | None) -> None:
    """Delete the saved screen NAME."""
    from tgportrait.classify.screens import remove_screen

    screen = remove_screen(open_workspace(workspace_dir), name)
    console.print(f"Removed screen [bold]{screen.name}[/] ({screen.rule})")


COMMANDS = [screen_group]
