"""Run the pipeline once: reads the lake's events, writes a new published run.

Stages, in order: clean (flag invalid events) → identity (union-find over identifier tuples) →
attach persons → features → labels (taxonomy rules, governance, compliance seam) → portraits →
quality. Every table is written into ``runs/.building-<id>/`` and the run is published only
when all succeeded, so a crash leaves the previous run serving. The run is recorded in the
state store with its counts, timings and error.
"""

from __future__ import annotations

import hashlib
import json
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import ibis
import ibis.expr.types as ir
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from tgportrait.classify.message_intents import message_intents_for_build
from tgportrait.classify.value import value_tiers, without_redundant
from tgportrait.clean.compliance import allowed_table, compliance_decisions, log_decisions, sensitive_pairs
from tgportrait.clean.events import attach_person, flag_invalid, possible_duplicate_persons
from tgportrait.clean.identity import persons_table, resolve_identities
from tgportrait.clean.linkage import linkage_records, profile_records_expr
from tgportrait.clean.overrides import active_overrides
from tgportrait.clean.quality import (
    add_blocked_identifiers,
    add_consent_blocked,
    add_merges_and_tiers,
    blocked_identifiers_by_source,
    prelabel_coverage,
    quality_report,
)
from tgportrait.clean.regions import region_tables
from tgportrait.config import Settings
from tgportrait.label.assign import assign_labels, with_message_examples
from tgportrait.label.catalogue import feature_names
from tgportrait.label.features import FeatureInputs, build_features, message_examples, tag_intents
from tgportrait.label.lexicon import load_lexicon
from tgportrait.label.repurchase import repurchase_for_build
from tgportrait.label.taxonomy import Taxonomy, load_taxonomy
from tgportrait.portrait.build import build_portraits
from tgportrait.rules import RuleTables
from tgportrait.store.engine import Engine
from tgportrait.store.lake import new_run_id
from tgportrait.store.tables import EVENTS, IDENTIFIER_TYPES
from tgportrait.workspace import Workspace

CLEAN_COLUMNS = (
    "event_id", "person_id", "source", "type", "subtype", "occurred_at", "chat_id", "reply_to_message_id", "text",
    "text_folded", "count", "url", "campaign", "order_id", "amount_usd", "product", "category", "answer_key",
    "answer_value", "country", "gender", "birth_date", "intent", "value_tier", "lang",
)
# columns the rule functions (asked/clicked/joined) read
ACTIVITY_COLUMNS = ("person_id", "type", "intent", "occurred_at", "campaign", "url")


@dataclass
class BuildReport:
    run_id: str
    engine: str
    as_of: datetime
    counts: dict[str, int] = field(default_factory=dict)
    timings: dict[str, float] = field(default_factory=dict)
    quality: dict[str, Any] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        return {"run_id": self.run_id, "engine": self.engine, "as_of": self.as_of.isoformat(),
                "counts": self.counts, "timings": self.timings, "quality": self.quality}


def utc_now() -> datetime:
    return datetime.now(UTC).replace(tzinfo=None)


@contextmanager
def _timed(timings: dict[str, float], name: str) -> Iterator[None]:
    started = time.perf_counter()
    yield
    timings[name] = round(time.perf_counter() - started, 3)


def _materialise(engine: Engine, expr: ir.Table, folder: Path, name: str) -> tuple[ir.Table, pa.Table]:
    """Write ``expr`` into the run folder and read it back, so later stages do not recompute it."""
    arrow = engine.write_parquet(expr, folder / name, name)
    return engine.read_parquet(sorted((folder / name).glob("*.parquet")), name), arrow


def _settings_digest(workspace: Workspace) -> str:
    values = workspace.settings.model_dump(mode="json", exclude={"telegram"})
    return hashlib.sha256(json.dumps(values, sort_keys=True).encode()).hexdigest()[:16]


def build(workspace: Workspace, *, as_of: datetime | None = None,
          progress: Callable[[str], None] | None = None) -> BuildReport:
    """Run every stage and publish the run; on failure the previous run stays current."""
    as_of = as_of or utc_now()
    say = progress or (lambda _message: None)
    run_id = new_run_id()
    engine = workspace.engine
    lake, state, settings = workspace.lake, workspace.state, workspace.settings
    report = BuildReport(run_id, engine.kind, as_of)
    timings = report.timings
    state.start_run(run_id, settings.engine)
    folder = lake.building_dir(run_id)
    try:
        taxonomy = load_taxonomy(workspace.taxonomy_path, settings.industry)
        lexicon = load_lexicon(settings.industry)
        from tgportrait.collect.inbox import flush_inbox  # bot updates and link clicks → a new lake part

        flush_inbox(workspace, run_id)
        events = engine.read_parquet(lake.event_parts(), "events", EVENTS)
        flagged = flag_invalid(events, as_of)
        with _timed(timings, "identity"):
            say("resolving identities")
            records_expr = flagged.filter(flagged.invalid_reason.isnull()).select(
                "source", *IDENTIFIER_TYPES).distinct()
            records = engine.execute(records_expr, "identity_records")
            links, linkage_note = _fuzzy_links(engine, flagged, settings)
            identity = resolve_identities(records.cast(pa.schema(
                [("source", pa.string())] + [(name, pa.string()) for name in IDENTIFIER_TYPES])), settings.identity,
                overrides=active_overrides(state.engine), fuzzy_links=links)
            identity_map, _ = _materialise(engine, engine.from_arrow(identity.identifiers, "identity_map"), folder,
                                           "identities")
        with _timed(timings, "clean"):
            say("cleaning events")
            attached = attach_person(flagged, identity_map)
            invalid_counts = engine.execute(
                attached.filter(attached.invalid_reason.notnull()).group_by(["source", "invalid_reason"]).aggregate(
                    n=ibis._.count()), "invalid_counts")
            with _timed(timings, "intents"):  # a trained model: classify messages in Python (else the lexicon)
                intents_pass = message_intents_for_build(workspace, folder)
            classified = None if intents_pass is None or intents_pass.path is None else engine.read_parquet(
                [intents_pass.path], "message_intents")
            valid = tag_intents(attached.filter(attached.invalid_reason.isnull() & attached.person_id.notnull()),
                                lexicon, classified)
            # events_clean can be the biggest table of a run: the engine streams it to disk, and only the
            # key columns the quality report counts come back to the driver
            clean = engine.materialise(value_tiers(valid, settings.value_tiers).select(*CLEAN_COLUMNS),
                                       folder / "events_clean", "events_clean")
            clean_arrow = engine.execute(clean.select("event_id", "source", "person_id", "value_tier"), "clean_keys")
        with _timed(timings, "compliance"):
            say("applying consent and compliance rules")
            consent_evidence = engine.execute(
                clean.filter(clean.type.isin(["questionnaire_answer", "customer_profile", "stop"])), "consent_evidence")
            decisions = compliance_decisions(state, consent_evidence, identity.identifiers, as_of)
            allowed = engine.from_arrow(allowed_table(decisions), "allowed")
            profiled = allowed.filter(allowed.profiling).select("person_id")
            clean = clean.semi_join(profiled, "person_id")  # no consent to profiling: nothing derived below
        with _timed(timings, "features"):
            say("computing features")
            regions, hints = region_tables()
            persons = engine.from_arrow(persons_table(identity), "persons").semi_join(profiled, "person_id")
            repurchase, repurchase_report = repurchase_for_build(engine, clean, as_of)
            inputs = FeatureInputs(without_redundant(clean), persons, engine.from_arrow(regions, "regions"),
                                   engine.from_arrow(hints, "language_hints"), as_of, repurchase)
            features_expr = build_features(inputs, lexicon, feature_names(settings.industry))
            features, features_arrow = _materialise(engine, features_expr, folder, "features")
            activity_table = engine.materialise(clean.select(*ACTIVITY_COLUMNS), folder / "activity", "activity")
        with _timed(timings, "labels"):
            say("assigning labels")
            tables = RuleTables(features=features, labels=None, events=activity_table, now=as_of)
            labels_expr = assign_labels(taxonomy, tables, as_of, allowed=allowed).anti_join(engine.from_arrow(
                sensitive_pairs(decisions, [leaf.id for leaf in taxonomy.leaves]), "sensitive_denied"),
                ["person_id", "label_id"])
            labels_expr = with_message_examples(labels_expr, message_examples(clean, lexicon, as_of), taxonomy)
            labels_arrow = engine.write_parquet(labels_expr, folder / "labels", "labels")
        with _timed(timings, "portraits"):
            say("writing portraits")
            portraits = build_portraits(features_arrow, labels_arrow, identity.identifiers, as_of,
                                        settings.portrait_fresh_days, level1_ids(taxonomy))
            folder.joinpath("portraits").mkdir(exist_ok=True)
            pq.write_table(portraits, folder / "portraits" / "part-0.parquet", compression="zstd")
        with _timed(timings, "quality"):
            kept = clean_arrow.group_by("source").aggregate([("event_id", "count")]).to_pylist()
            profile_ids = identity.identifiers.filter(
                pc.is_in(identity.identifiers.column("id_type"), pa.array(["tg_user_id", "crm_customer_id"])))
            persons_with_profiles = pc.count_distinct(profile_ids.column("person_id")).as_py()
            missed = int(engine.scalar(possible_duplicate_persons(attached), "residual_duplicates"))
            report.quality = quality_report(
                state.imports(), invalid_counts.to_pylist(),
                {row["source"]: row["event_id_count"] for row in kept}, profile_ids.num_rows,
                persons_with_profiles, missed, identity.blocked, len(identity.refused_merges))
            add_merges_and_tiers(report.quality, identity.identifiers, clean_arrow.group_by(
                ["source", "value_tier"]).aggregate([("event_id", "count")]).rename_columns(
                ["source", "value_tier", "n"]).to_pylist())
            add_blocked_identifiers(report.quality, blocked_identifiers_by_source(records, settings.identity))
            add_consent_blocked(report.quality, clean_arrow,
                                {decision.person_id for decision in decisions if not decision.allowed["profiling"]})
            demand = next((d.name for d in taxonomy.dimensions if d.id == "demand"), None)
            if demand is not None:
                report.quality["prelabel"] = prelabel_coverage(features_arrow, labels_arrow, demand)
            report.quality.setdefault("identity", {})["fuzzy_linkage"] = linkage_note
            (folder / "quality.json").write_text(json.dumps(report.quality, indent=2))
        report.counts = {
            "events": int(engine.scalar(events.count(), "events")), "events_clean": clean_arrow.num_rows,
            "persons": identity.persons, "features": features_arrow.num_rows, "labels": labels_arrow.num_rows,
            "portraits": portraits.num_rows,
            "labelled_persons": pc.count_distinct(labels_arrow.column("person_id")).as_py(),
            "excluded_by_consent": sum(not decision.allowed["profiling"] for decision in decisions),
        }
        log_decisions(folder, decisions, as_of)   # the run's decision log, published with the run
        lake.publish(run_id, {"run_id": run_id, "engine": engine.kind, "as_of": as_of.isoformat(),
                              "counts": report.counts, "timings": timings, "industry": settings.industry,
                              "inputs": [part.name for part in lake.event_parts()],
                              "taxonomy": str(workspace.taxonomy_path), "taxonomy_digest": taxonomy.digest,
                              "settings_digest": _settings_digest(workspace), "repurchase": repurchase_report,
                              "fuzzy_linkage": linkage_note})
    except BaseException as exc:
        lake.abandon(run_id)
        state.finish_run(run_id, "failed", report.counts, timings, f"{type(exc).__name__}: {exc}")
        raise
    state.finish_run(run_id, "published", report.counts, timings)
    return report


FuzzyLink = tuple[str, str, str, float, str]


def _fuzzy_links(engine: Engine, flagged: ir.Table, settings: Settings) -> tuple[list[FuzzyLink], str]:
    """Splink links between CRM customers and Telegram users, and a note saying what happened.

    Fuzzy linkage needs enough records for its EM training: below ``identity.fuzzy_min_records``
    profile records it is skipped, and a training failure on degenerate data (a match prior of 0,
    no candidate pairs) skips it too. Either way the deterministic links still apply and the note
    lands in the run manifest and the quality report: nothing is skipped silently.
    """
    if not settings.identity.fuzzy_linkage:
        return [], "off (identity.fuzzy_linkage = false)"
    valid = flagged.filter(flagged.invalid_reason.isnull())
    profiles = engine.execute(profile_records_expr(valid), "linkage_records")
    customers = sum(str(key).startswith("crm_customer_id:") for key in profiles.column("unique_id").to_pylist())
    if not customers:
        return [], "skipped: no CRM customers"
    if profiles.num_rows < settings.identity.fuzzy_min_records:
        return [], (f"skipped: {profiles.num_rows} profile records, fewer than identity.fuzzy_min_records = "
                    f"{settings.identity.fuzzy_min_records}")
    from splink.internals.exceptions import SplinkException  # Splink is heavy: imported when needed

    from tgportrait.clean.linkage import fuzzy_links, link_records

    try:
        links = fuzzy_links(link_records(linkage_records(profiles), settings.identity, engine=engine))
    except (ValueError, ArithmeticError, SplinkException) as exc:
        return [], f"skipped: Splink could not train on these records ({type(exc).__name__}: {exc})"
    return links, f"{len(links)} links from {profiles.num_rows} profile records"


def level1_ids(taxonomy: Taxonomy) -> dict[str, str]:
    return {dimension.name: dimension.id for dimension in taxonomy.dimensions}
