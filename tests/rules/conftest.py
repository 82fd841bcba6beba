"""Rule fixtures: a catalogue (core features, two demand topics, labels with aliases, intents) and an engine.

``rule_engine`` runs the compile tests on DuckDB and on Spark in local mode (marked ``spark``), using
the store's test helper so Spark starts once per process.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.store.conftest import ENGINE_PARAMS, open_test_engine
from tgportrait.label.catalogue import CORE_FEATURES, demand_features
from tgportrait.rules import RuleCatalog
from tgportrait.store.engine import Engine

LABELS = {
    "skin/sensitive": "Sensitive skin",
    "skin/dry": "Dry skin",
    "price/price_sensitive": "Price sensitive",
    "price/promotion_focused": "Promotion focused",
}
LABEL_ALIASES = {"discount-sensitive": "price/price_sensitive", "sensitive-skin": "skin/sensitive"}
INTENTS = frozenset({"new_product", "price", "complaint", "order_status"})


@pytest.fixture(scope="session")
def catalog() -> RuleCatalog:
    specs = CORE_FEATURES + demand_features(["moisturizing", "whitening"], sorted(INTENTS))
    return RuleCatalog.from_specs(specs, labels=LABELS, label_aliases=LABEL_ALIASES, intents=INTENTS)


@pytest.fixture(scope="session", params=ENGINE_PARAMS)
def rule_engine(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Engine]:
    """DuckDB, then Spark (local mode): the engines every compiled rule must run on."""
    opened = open_test_engine(request.param, Path(tmp_path_factory.mktemp(f"rules-{request.param}")))
    yield opened
    opened.close()
