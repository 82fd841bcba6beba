"""``tgportrait labels check|list``: reads a taxonomy (the workspace's by default), prints its check or its tree."""

from __future__ import annotations

from pathlib import Path

import click

from tgportrait.cli.common import json_option, print_json, workspace_option
from tgportrait.label.taxonomy import Taxonomy, load_workspace_taxonomy


def _taxonomy(workspace_dir: str | None, path: Path | None = None) -> Taxonomy:
    chosen = workspace_dir or (click.get_current_context().find_root().obj or {}).get("workspace")
    return load_workspace_taxonomy(chosen, path)


@click.group("labels")
def labels_group() -> None:
    """The label taxonomy: five dimensions, groups and leaves with rules."""


@labels_group.command("check")
@click.argument("path", required=False, type=click.Path(dir_okay=False, path_type=Path))
@workspace_option
@json_option
def labels_check(path: Path | None, workspace_dir: str | None, as_json: bool) -> None:
    """Check a taxonomy file: structure, ids, conflict rules and every rule against the features.

    PATH defaults to the workspace's taxonomy (the default e-commerce one outside a workspace).

    \b
    Example:
        tgportrait labels check taxonomy.yaml
    """
    taxonomy = _taxonomy(workspace_dir, path)
    if as_json:
        print_json({"ok": True, "path": taxonomy.path, "version": taxonomy.version, "industry": taxonomy.industry,
                    "leaves": len(taxonomy.leaves), "dimensions": len(taxonomy.dimensions),
                    "conflicts": len(taxonomy.conflicts), "merges": [merge.describe() for merge in taxonomy.merges]})
        return
    click.echo(f"OK: {taxonomy.summary()}")
    for merge in taxonomy.merges:
        click.echo(f"  {merge.describe()}")


@labels_group.command("list")
@workspace_option
@json_option
def labels_list(workspace_dir: str | None, as_json: bool) -> None:
    """Print the taxonomy tree: dimensions, groups and leaves."""
    taxonomy = _taxonomy(workspace_dir)
    if as_json:
        print_json(taxonomy.as_dict())
        return
    click.echo(f"{taxonomy.name or taxonomy.path} (version {taxonomy.version}, industry {taxonomy.industry}): "
               f"{taxonomy.summary()}")
    for dimension in taxonomy.dimensions:
        click.echo(f"{dimension.name} ({dimension.id})")
        for group in dimension.groups:
            exclusive = f", exclusive: {group.pick}" if group.exclusive else ""
            click.echo(f"  {group.name} ({group.id}{exclusive})")
            for leaf_id in group.leaf_ids:
                leaf = taxonomy.leaf(leaf_id)
                flags = ", sensitive" if leaf.sensitive else ""
                click.echo(f"    {leaf.id}  {leaf.name}  (weight {leaf.weight:g}, {leaf.purpose}{flags})")


COMMANDS = [labels_group]
