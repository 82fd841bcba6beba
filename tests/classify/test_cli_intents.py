"""``tgportrait intents classify/train/review`` through the real CLI."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from tgportrait.cli import cli, main
from tgportrait.workspace import Workspace

TRAINING = ("text,label\n" + "".join(f'"{text}",{label}\n' for text, label in [
    ("where is my order", "logistics"), ("track my parcel please", "logistics"), ("when does it ship", "logistics"),
    ("refund please", "aftersales"), ("i want my money back", "aftersales"), ("return this item", "aftersales"),
]))


def invoke(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(cli, list(args))
    return result.exit_code, result.output


def failing(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int | str | None, str]:
    """Run the real entry point (with its error translation); (exit status, stderr)."""
    with pytest.raises(SystemExit) as exit_info:
        main(list(args))
    return exit_info.value.code, capsys.readouterr().err


def test_classify_text_without_a_workspace(tmp_path: Path) -> None:
    code, output = invoke("-w", str(tmp_path / "none"), "intents", "classify", "Berapa harganya kak?", "--json")
    assert code == 0, output
    assert json.loads(output) == {"intent": "price", "confidence": 0.9, "language": "id", "abstained": False,
                                  "reason": None}
    code, output = invoke("-w", str(tmp_path / "none"), "intents", "classify", "😀😀")
    assert (code, output.strip()) == (0, "other (abstained: no letters (emoji, digits or punctuation only); "
                                         "language unknown)")


def test_classify_file_keeps_input_order(tmp_path: Path) -> None:
    path = tmp_path / "messages.csv"
    path.write_text("id,body\n1,Где мой заказ?\n2,\n3,我要取消订单\n", encoding="utf-8")
    code, output = invoke("-w", str(tmp_path / "none"), "intents", "classify", "--file", str(path),
                          "--text-column", "body")
    rows = [json.loads(line) for line in output.splitlines()]
    assert code == 0
    assert [(row["intent"], row["language"], row["abstained"]) for row in rows] == [
        ("logistics", "ru", False), ("other", None, True), ("cancellation", "zh", False)]


def test_train_then_classify_with_the_model(workspace: Workspace, tmp_path: Path) -> None:
    path = tmp_path / "labels.csv"
    path.write_text(TRAINING, encoding="utf-8")
    code, output = invoke("intents", "train", str(path), "--text-column", "text", "--label-column", "label",
                          "--name", "shop", "-w", str(workspace.root), "--json")
    assert code == 0, output
    summary = json.loads(output)
    assert (summary["examples"], summary["labels"]) == (6, ["aftersales", "logistics"])
    code, output = invoke("intents", "classify", "where is my parcel", "--model", "shop", "-w", str(workspace.root),
                          "--json")
    assert json.loads(output)["intent"] == "logistics"


def test_malformed_training_file_names_the_row(workspace: Workspace, tmp_path: Path,
                                               capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "labels.csv"
    path.write_text("text,label\nwhere is my order,logistics\nrefund please,\n", encoding="utf-8")
    code, output = failing(capsys, "intents", "train", str(path), "--text-column", "text", "--label-column",
                           "label", "-w", str(workspace.root))
    assert code == 2
    assert f"Error [TGP-I001]: {path}: row 3: empty label in 'label' (label it or delete the row)" in output


def test_review_needs_a_published_run(workspace: Workspace, capsys: pytest.CaptureFixture[str]) -> None:
    code, output = failing(capsys, "intents", "review", "-w", str(workspace.root))
    assert code == 2
    assert output.startswith("Error [")
