"""Hostile rule text is a RuleError: nothing executes, nothing crashes, no recursion error leaks out."""

from __future__ import annotations

import ast
import builtins
import os
import subprocess
from collections.abc import Callable
from pathlib import Path

import ibis
import pytest

import tgportrait.rules
from tgportrait.errors import RuleError
from tgportrait.rules import MAX_DEPTH, MAX_RULE_LENGTH, RuleCatalog, RuleCheckError, RuleTables, check_rule

HOSTILE = [
    "__import__('os').system('id')",
    "().__class__",
    "().__class__.__bases__[0].__subclasses__()",
    "open('/etc/passwd').read()",
    "lambda: 1",
    "x; import os",
    "import os",
    "os.system('id')",
    'f"{1 + 1}"',
    "f'{open(\"/etc/passwd\")}' == 'x'",
    "rb'\\x00' == region",
    "`id`",
    "$(id)",
    "exec('import os')",
    "eval('1') == 1",
    "compile('1', 'x', 'eval')",
    "getattr(region, 'upper')",
    "globals()",
    "__builtins__",
    "region.__len__() > 1",
    "[x for x in ()]",
    "{'a': 1}",
    "region == 'x' \\\n or 1",
    "1 if has_phone else 0",
    "has_phone := 1",
    "region == '\x00'; DROP",
    "\x00",
    "region == 'ｉｄ' and ｒｅｇｉｏｎ == 'x'",
    "orders_90d >= 1 -- comment",
    "orders_90d >= 1 /* comment */",
    "*orders_90d",
    "orders_90d ** 2 > 1",
    "orders_90d >= 1 and",
    "(" * 10_000 + "1" + ")" * 10_000,
    "x" * 100_000,
    "not " * 2_400 + "has_phone",
    "-" * 9_000 + "1 > 0",
    "1 +" * 3_000 + " 1 > 0",
    "(" * 4_000 + "has_phone" + ")" * 4_000,
    "min(" * 1_000 + "1" + ", 1)" * 1_000 + " > 0",
    "'" + "\\" * 9_000,
]


def _trap(name: str, attempts: list[str]) -> Callable[..., object]:
    def called(*args: object, **kwargs: object) -> object:
        attempts.append(name)
        raise AssertionError(f"{name} was called by the rule engine")
    return called


def test_hostile_rules_are_rule_errors_and_run_nothing(catalog: RuleCatalog, monkeypatch: pytest.MonkeyPatch) -> None:
    """Every way to run code or touch the system fails loudly (and is recorded) while hostile rules are checked."""
    attempts: list[str] = []
    outcomes: list[tuple[str, str]] = []
    with monkeypatch.context() as patch:
        for name in ("system", "popen", "execv", "execve", "spawnv", "fork", "remove", "unlink"):
            if hasattr(os, name):
                patch.setattr(os, name, _trap(f"os.{name}", attempts))
        patch.setattr(subprocess, "Popen", _trap("subprocess.Popen", attempts))
        for name in ("eval", "exec", "compile", "open", "breakpoint", "input", "__import__"):  # imports last
            patch.setattr(builtins, name, _trap(name, attempts))
        for text in HOSTILE:
            try:
                check_rule(text, catalog)
            except RuleError as error:  # the only acceptable outcome
                outcomes.append((text[:40], error.code if error.render() else "no message"))
            except BaseException as error:  # noqa: BLE001 - recorded, then asserted on outside the patch
                outcomes.append((text[:40], f"crashed: {type(error).__name__}: {error}"))
            else:
                outcomes.append((text[:40], "accepted"))
    assert attempts == []
    assert [(text, outcome) for text, outcome in outcomes if not outcome.startswith("TGP-R0")] == []
    assert len(outcomes) == len(HOSTILE)


@pytest.mark.parametrize(("text", "code"), [
    ("__import__('os').system('id')", "TGP-R002"),
    ("().__class__", "TGP-R002"),
    ("open('/etc/passwd').read()", "TGP-R002"),
    ("lambda: 1", "TGP-R002"),
    ("x; import os", "TGP-R002"),
    ('f"{1 + 1}"', "TGP-R002"),
    ("`id`", "TGP-R002"),
    ("exec('import os')", "TGP-R013"),
    ("eval('1') == 1", "TGP-R013"),
    ("__builtins__", "TGP-R012"),
    ("x" * 100_000, "TGP-R003"),
    ("(" * 10_000 + "1" + ")" * 10_000, "TGP-R003"),
    ("(" * 4_000 + "has_phone" + ")" * 4_000, "TGP-R004"),
    ("not " * 2_400 + "has_phone", "TGP-R004"),
    ("-" * 9_000 + "1 > 0", "TGP-R004"),
    ("1 +" * 3_000 + " 1 > 0", "TGP-R004"),
    ("min(" * 1_000 + "1" + ", 1)" * 1_000 + " > 0", "TGP-R004"),
])
def test_each_hostile_rule_fails_with_its_own_code(catalog: RuleCatalog, text: str, code: str) -> None:
    with pytest.raises(RuleCheckError) as caught:
        check_rule(text, catalog)
    assert caught.value.code == code
    assert len(caught.value.render()) < 2_000  # long input is cut around the caret, not echoed whole


def test_limits_are_reported_with_numbers(catalog: RuleCatalog) -> None:
    with pytest.raises(RuleCheckError) as caught:
        check_rule("x" * 100_000, catalog)
    assert caught.value.problems[0].message == (
        f"rule is 100,000 characters long; the limit is {MAX_RULE_LENGTH:,}")
    with pytest.raises(RuleCheckError) as caught:
        check_rule("(" * 1_000 + "has_phone" + ")" * 1_000, catalog)
    assert caught.value.problems[0].message == f"expression is nested more than {MAX_DEPTH} levels deep"


def test_nesting_up_to_the_limit_checks_compiles_and_runs(catalog: RuleCatalog) -> None:
    text = "not (" * (MAX_DEPTH // 2 - 1) + "orders_90d >= 1" + ")" * (MAX_DEPTH // 2 - 1)
    features = ibis.memtable({"person_id": [1, 2], "orders_90d": [1, 0]})
    condition = check_rule(text, catalog).compile(RuleTables(features))
    assert ibis.duckdb.connect().execute(features.filter(condition).person_id).tolist() == [2]


def test_string_values_cannot_inject_sql(catalog: RuleCatalog) -> None:
    features = ibis.memtable({"person_id": [1, 2], "region": ["ID", "x' OR '1'='1"]})
    connection = ibis.duckdb.connect()
    for value in ["'; DROP TABLE features; --", "x' OR '1'='1", 'x" OR "1"="1', "\\'; SELECT 1; --"]:
        quoted = "'" + value.replace("\\", "\\\\").replace("'", "\\'") + "'"
        condition = check_rule(f"region == {quoted}", catalog).compile(RuleTables(features))
        expected = [2] if value == "x' OR '1'='1" else []
        assert connection.execute(features.filter(condition).person_id).tolist() == expected


def test_the_rule_engine_source_never_calls_eval_exec_or_compile() -> None:
    package = Path(tgportrait.rules.__file__).parent
    dangerous_names = {"eval", "exec", "compile", "__import__", "open", "getattr", "setattr", "globals", "locals"}
    dangerous_modules = {"os", "subprocess", "pickle", "marshal", "importlib", "ctypes", "builtins"}
    found: list[str] = []
    for source in sorted(package.glob("*.py")):
        for node in ast.walk(ast.parse(source.read_text(), str(source))):
            if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id in dangerous_names:
                found.append(f"{source.name}:{node.lineno} calls {node.func.id}()")
            if isinstance(node, ast.Import | ast.ImportFrom):
                names = [alias.name for alias in node.names] if isinstance(node, ast.Import) else [node.module or ""]
                found += [f"{source.name}:{node.lineno} imports {name}" for name in names
                          if name.split(".")[0] in dangerous_modules]
    assert found == []
