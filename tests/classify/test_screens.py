"""classify.screens: saved screening rules checked at save time, listed, run over a built demo, removed; the CLI."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pyarrow.csv as pacsv
import pytest
from click.testing import CliRunner

from tgportrait.classify.screens import add_screen, get_screen, list_screens, remove_screen, run_screen
from tgportrait.cli import cli
from tgportrait.errors import InputError, NotFound, RuleError
from tgportrait.portrait.segments import run_segment
from tgportrait.workspace import Workspace

NEW_PRODUCT = 'orders_90d >= 1 and asked("new_product", days=90)'


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("screens") / "demo"
    result = subprocess.run([sys.executable, "-m", "tgportrait", "demo", "--users", "300", "-w", str(root)],
                            capture_output=True, text=True, check=False)
    assert result.returncode == 0, result.stderr
    return root


def test_a_rule_is_checked_when_saved_with_every_error_and_a_caret(workspace: Workspace) -> None:
    with pytest.raises(RuleError) as caught:
        add_screen(workspace, "bad", 'orders_90dd >= 1 and asked("new_prod", days=90)')
    assert caught.value.message == "\n".join([
        "2 problems in screen 'bad':",
        "screen 'bad':1:1: unknown feature 'orders_90dd' [TGP-R012]",
        '    orders_90dd >= 1 and asked("new_prod", days=90)',
        "    ^^^^^^^^^^^",
        "  did you mean 'orders_90d'?",
        "screen 'bad':1:28: unknown intent 'new_prod' [TGP-R015]",
        '    orders_90dd >= 1 and asked("new_prod", days=90)',
        "                               ^^^^^^^^^^",
        "  did you mean 'new_product'?",
    ])
    assert list_screens(workspace) == []


def test_names_are_unique_and_checked(workspace: Workspace) -> None:
    add_screen(workspace, "buyers", "orders_total >= 1")
    with pytest.raises(InputError, match="screen 'buyers' already exists"):
        add_screen(workspace, "buyers", "orders_total >= 2")
    add_screen(workspace, "buyers", "orders_total >= 2", replace=True)
    assert get_screen(workspace, "buyers").rule == "orders_total >= 2"
    with pytest.raises(InputError, match="invalid screen name 'two words'"):
        add_screen(workspace, "two words", "orders_total >= 1")
    assert [screen.name for screen in list_screens(workspace)] == ["buyers"]
    remove_screen(workspace, "buyers")
    with pytest.raises(NotFound, match=r"no screen named 'buyers' \(saved screens: none yet\)"):
        get_screen(workspace, "buyers")


def test_a_screen_runs_like_the_same_segment(demo: Path, tmp_path: Path) -> None:
    workspace = Workspace.open(demo)
    add_screen(workspace, "new-product-buyers", NEW_PRODUCT, replace=True)
    result = run_screen(workspace, "new-product-buyers")
    same = run_segment(workspace, NEW_PRODUCT)
    assert result.count == same.count > 0
    assert result.members.column("person_id").to_pylist() == same.members.column("person_id").to_pylist()
    workspace.close()


def test_the_cli_adds_lists_runs_exports_and_removes(demo: Path, tmp_path: Path) -> None:
    runner = CliRunner()
    where = ["-w", str(demo)]
    added = runner.invoke(cli, ["screen", "add", "cli-screen", NEW_PRODUCT, "--replace", *where])
    assert added.exit_code == 0 and "Saved screen cli-screen" in added.output
    listed = runner.invoke(cli, ["screen", "list", "--json", *where])
    assert {"name": "cli-screen", "rule": NEW_PRODUCT} in [
        {"name": row["name"], "rule": row["rule"]} for row in json.loads(listed.output)]
    export = tmp_path / "members.csv"
    ran = runner.invoke(cli, ["screen", "run", "cli-screen", "--json", "--export", str(export), *where])
    assert ran.exit_code == 0, ran.output
    document = json.loads(ran.output)
    assert document["screen"] == "cli-screen" and document["export"] == str(export)
    assert pacsv.read_csv(export).num_rows == document["count"] > 0
    removed = runner.invoke(cli, ["screen", "remove", "cli-screen", *where])
    assert removed.exit_code == 0 and "Removed screen cli-screen" in removed.output


def test_demand_labels_carry_the_messages_that_produced_them(demo: Path) -> None:
    workspace = Workspace.open(demo)
    labels = workspace.lake.read_run_table("labels").to_pylist()
    evidence = {(row["person_id"], row["label_id"]): json.loads(row["evidence"]) for row in labels}
    asked = [value for (_, label_id), value in evidence.items() if label_id == "service/advice_seeker"]
    assert asked and all(1 <= len(value["examples"]) <= 3 for value in asked)
    suitability = [value for (_, label_id), value in evidence.items() if label_id.startswith("skin/")
                   and any(value["values"].get(name, 0) for name in value["values"] if name.startswith("suitability_"))]
    assert suitability, "a suitability question naming a topic makes a demand label"
    assert all(value["examples"] for value in suitability)
    no_text = [value for (_, label_id), value in evidence.items() if label_id.startswith("age/")]
    assert no_text and all("examples" not in value for value in no_text)
    quality = json.loads((workspace.lake.run_dir(workspace.lake.require_current_run()) / "quality.json").read_text())
    prelabel = quality["prelabel"]
    assert prelabel["dimension"] == "Demand preferences"
    assert 0 < prelabel["with_demand_label"] <= prelabel["persons_with_core_data"]
    assert prelabel["coverage"] == round(prelabel["with_demand_label"] / prelabel["persons_with_core_data"], 6)
    workspace.close()


def test_the_portrait_shows_the_example_messages(demo: Path) -> None:
    workspace = Workspace.open(demo)
    labels = workspace.lake.read_run_table("labels").to_pylist()
    row = next(row for row in labels if '"examples": [' in row["evidence"])
    first = json.loads(row["evidence"])["examples"][0]
    workspace.close()
    shown = CliRunner().invoke(cli, ["portrait", row["person_id"], "-w", str(demo)], terminal_width=400)
    assert shown.exit_code == 0, shown.output
    assert f"“{first}”" in shown.output
