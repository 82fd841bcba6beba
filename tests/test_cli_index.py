"""The CLI's command index is complete, and running one command imports only that command's module."""

from __future__ import annotations

import json
import subprocess
import sys

from tgportrait.cli.commands import COMMAND_MODULES, module_commands


def test_the_index_names_exactly_the_commands_each_module_defines() -> None:
    defined = {name: module for module in set(COMMAND_MODULES.values()) for name in module_commands(module)}
    assert defined == COMMAND_MODULES


def test_a_command_loads_only_its_own_module() -> None:
    script = ("import json, sys\nfrom tgportrait.cli import main\n"
              "try:\n    main(['quarantine', '--help'])\nexcept SystemExit:\n    pass\n"
              "print(json.dumps(sorted(name for name in sys.modules if name.startswith('tgportrait.'))))")
    completed = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120,
                               check=False)
    assert completed.returncode == 0, completed.stderr
    loaded = set(json.loads(completed.stdout.splitlines()[-1]))
    assert "tgportrait.cli.imports" in loaded
    assert not loaded & {"tgportrait.build", "tgportrait.cli.pipeline", "tgportrait.cli.demo", "tgportrait.demo.run"}
