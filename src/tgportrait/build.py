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
import shutil
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

from tgportrait.classify.message_intents import MessageIntentsReport, message_intents_for_build
from tgportrait.classify.value import value_tiers, without_redundant
from tgportrait.clean.compliance import (
    PersonDecision,
    allowed_table,
    compliance_decisions,
    log_decisions,
    sensitive_pairs,
)
from tgportrait.clean.consent_evidence import evidence_table
from tgportrait.clean.events import attach_person, flag_invalid, possible_duplicate_persons
from tgportrait.clean.identity import IdentityResult, persons_table, resolve_identities
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
from tgportrait.label.assign import assign_labels, in_person_range, person_ranges, with_message_examples
from tgportrait.label.catalogue import feature_names
from tgportrait.label.features import FeatureInputs, build_features, message_examples, tag_intents
from tgportrait.label.lexicon import Lexicon, load_lexicon
from tgportrait.label.repurchase import repurchase_for_build
from tgportrait.label.taxonomy import Taxonomy, load_taxonomy
from tgportrait.portrait.build import write_portraits
from tgportrait.rules import RuleTables
from tgportrait.store.engine import Engine
from tgportrait.store.lake import new_run_id
from tgportrait.store.tables import EVENTS, IDENTIFIER_TYPES
from tgportrait.workspace import Workspace

CLEAN_COLUMNS = (
    "event_id", "person_id", "source", "type", "subtype", "occurred_at", "chat_id", "reply_to_message_id", "text",
    "text_folded", "count", "url", "campaign", "order_id", "amount_usd", "product", "category", "answer_key",
    "answer_value", "country", "gender", "birth_date", "intent", "value_tier", "lang", "language_code",
)
# columns the rule functions (asked/clicked/joined) read
ACTIVITY_COLUMNS = ("person_id", "type", "intent", "occurred_at", "campaign", "url")
LABEL_PERSONS_PER_BATCH = 200_000   # persons whose labels one engine plan computes (see ``_assign_labels``)


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


@dataclass
class _Run:
    """What every stage of one build shares: where it writes, as of when, and the stage timings."""

    workspace: Workspace
    engine: Engine
    folder: Path
    as_of: datetime
    say: Callable[[str], None]
    report: BuildReport

    @property
    def settings(self) -> Settings:
        return self.workspace.settings


@dataclass
class _Identity:
    result: IdentityResult
    table: ir.Table           # the identity map as written into the run
    records: pa.Table         # the distinct identifier tuples it was resolved from
    linkage_note: str


@dataclass
class _Clean:
    attached: ir.Table        # every event with its person (invalid ones flagged)
    clean: ir.Table           # valid events of persons, tiered, as written into the run
    tiers: pa.Table           # source, value_tier, n: the clean events counted in the engine
    invalid_counts: pa.Table


@dataclass
class _Compliance:
    decisions: list[PersonDecision]
    allowed: ir.Table
    profiled: ir.Table        # person ids that may be profiled


def build(workspace: Workspace, *, as_of: datetime | None = None,
          progress: Callable[[str], None] | None = None) -> BuildReport:
    """Run every stage and publish the run; on failure the previous run stays current."""
    as_of = as_of or utc_now()
    run_id = new_run_id()
    engine = workspace.engine
    lake, state, settings = workspace.lake, workspace.state, workspace.settings
    report = BuildReport(run_id, engine.kind, as_of)
    timings = report.timings
    state.start_run(run_id, settings.engine)
    run = _Run(workspace, engine, lake.building_dir(run_id), as_of, progress or (lambda _message: None), report)
    try:
        taxonomy = load_taxonomy(workspace.taxonomy_path, settings.industry)
        lexicon = load_lexicon(settings.industry)
        from tgportrait.collect.inbox import flush_inbox  # bot updates and link clicks → a new lake part

        flush_inbox(workspace, run_id)
        events = engine.read_parquet(lake.event_parts(), "events", EVENTS)
        flagged = flag_invalid(events, as_of)
        with _timed(timings, "identity"):
            identity = _resolve_identities(run, flagged)
        with _timed(timings, "intents"):  # a trained model: classify messages in Python (else the lexicon, in clean)
            intents_pass = message_intents_for_build(run.workspace, run.folder)
        with _timed(timings, "clean"):
            cleaned = _clean_events(run, flagged, identity, lexicon, intents_pass)
        with _timed(timings, "compliance"):
            compliance = _apply_compliance(run, cleaned, identity)
            clean = cleaned.clean.semi_join(compliance.profiled, "person_id")  # no consent: nothing derived below
        with _timed(timings, "features"):
            features, features_arrow, activity, repurchase_report = _compute_features(
                run, clean, identity, compliance, lexicon)
        with _timed(timings, "labels"):
            labels_arrow = _assign_labels(run, taxonomy, features, features_arrow, activity, clean, compliance,
                                          lexicon)
        with _timed(timings, "portraits"):
            run.say("writing portraits")
            portraits = write_portraits(run.folder / "portraits" / "part-0.parquet", features_arrow, labels_arrow,
                                        identity.result.identifiers, as_of, settings.portrait_fresh_days,
                                        level1_ids(taxonomy))
        with _timed(timings, "quality"):
            report.quality = _quality(run, identity, cleaned, compliance, taxonomy, features_arrow, labels_arrow)
        report.counts = {
            "events": int(engine.scalar(events.count(), "events")),
            "events_clean": pc.sum(cleaned.tiers.column("n")).as_py() or 0,
            "persons": identity.result.persons, "features": features_arrow.num_rows,
            "labels": labels_arrow.num_rows, "portraits": portraits,
            "labelled_persons": pc.count_distinct(labels_arrow.column("person_id")).as_py(),
            "excluded_by_consent": sum(not decision.allowed["profiling"] for decision in compliance.decisions),
        }
        log_decisions(run.folder, compliance.decisions, as_of)   # the run's decision log, published with the run
        lake.publish(run_id, {"run_id": run_id, "engine": engine.kind, "as_of": as_of.isoformat(),
                              "counts": report.counts, "timings": timings, "industry": settings.industry,
                              "inputs": [part.name for part in lake.event_parts()],
                              "taxonomy": str(workspace.taxonomy_path), "taxonomy_digest": taxonomy.digest,
                              "settings_digest": _settings_digest(workspace), "repurchase": repurchase_report,
                              "fuzzy_linkage": identity.linkage_note})
    except BaseException as exc:
        lake.abandon(run_id)
        state.finish_run(run_id, "failed", report.counts, timings, f"{type(exc).__name__}: {exc}")
        raise
    state.finish_run(run_id, "published", report.counts, timings)
    return report


def _resolve_identities(run: _Run, flagged: ir.Table) -> _Identity:
    """Deterministic links over distinct identifier tuples plus Splink's fuzzy links; the map goes into the run."""
    run.say("resolving identities")
    engine, settings = run.engine, run.settings
    records = engine.execute(flagged.filter(flagged.invalid_reason.isnull()).select(
        "source", *IDENTIFIER_TYPES).distinct(), "identity_records")
    links, linkage_note = _fuzzy_links(engine, flagged, settings)
    result = resolve_identities(records.cast(pa.schema(
        [("source", pa.string())] + [(name, pa.string()) for name in IDENTIFIER_TYPES])), settings.identity,
        overrides=active_overrides(run.workspace.state.engine), fuzzy_links=links)
    table, _ = _materialise(engine, engine.from_arrow(result.identifiers, "identity_map"), run.folder, "identities")
    return _Identity(result, table, records, linkage_note)


def _clean_events(run: _Run, flagged: ir.Table, identity: _Identity, lexicon: Lexicon,
                  intents_pass: MessageIntentsReport | None) -> _Clean:
    """Attach persons, tag intents (the model's pass when there was one) and value tiers, and stream the clean events
    into the run."""
    run.say("cleaning events")
    engine = run.engine
    attached = attach_person(flagged, identity.table)
    invalid_counts = engine.execute(
        attached.filter(attached.invalid_reason.notnull()).group_by(["source", "invalid_reason"]).aggregate(
            n=ibis._.count()), "invalid_counts")
    classified = None if intents_pass is None or intents_pass.path is None else engine.read_parquet(
        [intents_pass.path], "message_intents")
    valid = tag_intents(attached.filter(attached.invalid_reason.isnull() & attached.person_id.notnull()),
                        lexicon, classified)
    # events_clean can be the biggest table of a run: the engine streams it to disk, and only the
    # key columns the quality report counts come back to the driver
    clean = engine.materialise(value_tiers(valid, run.settings.value_tiers).select(*CLEAN_COLUMNS),
                               run.folder / "events_clean", "events_clean")
    # counted in the engine: at a million users the clean events are 55 M rows, too many to hold as keys
    tiers = engine.execute(clean.group_by(["source", "value_tier"]).aggregate(n=ibis._.count()), "clean_tiers")
    return _Clean(attached, clean, tiers, invalid_counts)


def _apply_compliance(run: _Run, cleaned: _Clean, identity: _Identity) -> _Compliance:
    """One decision per person from consent evidence, the identity map and the consent ledger."""
    run.say("applying consent and compliance rules")
    evidence = run.engine.execute(evidence_table(cleaned.clean), "consent_evidence")  # per person
    decisions = compliance_decisions(run.workspace.state, evidence, identity.result.identifiers, run.as_of)
    allowed = run.engine.from_arrow(allowed_table(decisions), "allowed")
    return _Compliance(decisions, allowed, allowed.filter(allowed.profiling).select("person_id"))


def _compute_features(run: _Run, clean: ir.Table, identity: _Identity, compliance: _Compliance,
                      lexicon: Lexicon) -> tuple[ir.Table, pa.Table, ir.Table, dict[str, Any]]:
    """Features of the profiled persons and the activity table the rule functions read, both into the run."""
    run.say("computing features")
    engine = run.engine
    regions, hints = region_tables()
    persons = engine.from_arrow(persons_table(identity.result), "persons").semi_join(compliance.profiled, "person_id")
    repurchase, repurchase_report = repurchase_for_build(engine, clean, run.as_of)
    inputs = FeatureInputs(without_redundant(clean), persons, engine.from_arrow(regions, "regions"),
                           engine.from_arrow(hints, "language_hints"), run.as_of, repurchase)
    features_expr = build_features(inputs, lexicon, feature_names(run.settings.industry))
    features, features_arrow = _materialise(engine, features_expr, run.folder, "features")
    activity = engine.materialise(clean.select(*ACTIVITY_COLUMNS), run.folder / "activity", "activity")
    return features, features_arrow, activity, repurchase_report


def _assign_labels(run: _Run, taxonomy: Taxonomy, features: ir.Table, features_arrow: pa.Table, activity: ir.Table,
                   clean: ir.Table, compliance: _Compliance, lexicon: Lexicon) -> pa.Table:
    """Taxonomy labels allowed for each person (sensitive ones need consent), with message examples.

    Labels are computed for a range of person ids at a time (every rule, exclusivity and conflict rule
    is per person), so one engine plan holds ``LABEL_PERSONS_PER_BATCH`` persons' candidate labels and
    messages, not everyone's: at a million users one plan for all ran DuckDB out of memory.
    """
    run.say("assigning labels")
    engine = run.engine
    denied = engine.from_arrow(sensitive_pairs(compliance.decisions, [leaf.id for leaf in taxonomy.leaves]),
                               "sensitive_denied")
    target = run.folder / "labels"
    target.mkdir()
    parts = []
    for index, (low, high) in enumerate(person_ranges(features_arrow.column("person_id"), LABEL_PERSONS_PER_BATCH)):
        def within(table: ir.Table, low: str | None = low, high: str | None = high) -> ir.Table:
            return in_person_range(table, low, high)

        tables = RuleTables(features=within(features), labels=None, events=within(activity), now=run.as_of)
        labels_expr = assign_labels(taxonomy, tables, run.as_of, allowed=within(compliance.allowed)).anti_join(
            within(denied), ["person_id", "label_id"])
        labels_expr = with_message_examples(labels_expr, message_examples(within(clean), lexicon, run.as_of),
                                            taxonomy)
        folder = run.folder / ".labels" / f"batch-{index:05d}"
        parts.append(engine.write_parquet(labels_expr, folder, "labels"))
        for number, part in enumerate(sorted(folder.glob("*.parquet"))):
            part.rename(target / f"part-{index:05d}-{number:03d}.parquet")
    shutil.rmtree(run.folder / ".labels", ignore_errors=True)
    return pa.concat_tables(parts)


def _quality(run: _Run, identity: _Identity, cleaned: _Clean, compliance: _Compliance, taxonomy: Taxonomy,
             features: pa.Table, labels: pa.Table) -> dict[str, Any]:
    """The quality report of the run (before and after cleaning, per source), also written as quality.json."""
    identifiers, tiers = identity.result.identifiers, cleaned.tiers.to_pylist()
    kept: dict[str, int] = {}
    for row in tiers:
        kept[row["source"]] = kept.get(row["source"], 0) + row["n"]
    clean, allowed = cleaned.clean, compliance.allowed
    refused = clean.semi_join(allowed.filter(~allowed.profiling), "person_id")
    blocked = run.engine.execute(refused.group_by("source").aggregate(n=ibis._.count()), "consent_blocked")
    profile_ids = identifiers.filter(pc.is_in(identifiers.column("id_type"),
                                              pa.array(["tg_user_id", "crm_customer_id"])))
    persons_with_profiles = pc.count_distinct(profile_ids.column("person_id")).as_py()
    missed = int(run.engine.scalar(possible_duplicate_persons(cleaned.attached), "residual_duplicates"))
    quality = quality_report(
        run.workspace.state.imports(), cleaned.invalid_counts.to_pylist(),
        kept, profile_ids.num_rows,
        persons_with_profiles, missed, identity.result.blocked, len(identity.result.refused_merges))
    add_merges_and_tiers(quality, identifiers, tiers)
    add_blocked_identifiers(quality, blocked_identifiers_by_source(identity.records, run.settings.identity))
    add_consent_blocked(quality, kept, {row["source"]: row["n"] for row in blocked.to_pylist()})
    demand = next((d.name for d in taxonomy.dimensions if d.id == "demand"), None)
    if demand is not None:
        quality["prelabel"] = prelabel_coverage(features, labels, demand)
    quality.setdefault("identity", {})["fuzzy_linkage"] = identity.linkage_note
    (run.folder / "quality.json").write_text(json.dumps(quality, indent=2))
    return quality


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
