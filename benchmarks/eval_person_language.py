"""Per-person language as the build computes it (the ``language`` feature), scored on the demo community.

    python -m benchmarks.eval_person_language [--users 2000] [--out eval/person-language.json]

Generates the demo community (seed 11), imports it, builds, and compares each member's ``language``
feature with the generator's truth. The feature is the questionnaire's language when the person
answered one; else the engine's weighing of their messages' stored ``lang`` with the weak hints
(Telegram ``language_code``, the region from questionnaire/phone/CRM): see
``label.features.detected_languages``. Members who answered the questionnaire are reported apart, as
the detector is not what decides for them.
"""

from __future__ import annotations

import argparse
import json
import tempfile
from datetime import datetime
from pathlib import Path
from typing import Any

import pyarrow.compute as pc

from tgportrait.build import build
from tgportrait.collect import import_file
from tgportrait.demo.generate import generate_community
from tgportrait.label.features import detected_languages
from tgportrait.workspace import Workspace

END = datetime(2026, 11, 30)


def evaluate(users: int, work_dir: Path) -> dict[str, Any]:
    community = generate_community(work_dir / "inputs", users=users, seed=11, end=END)
    workspace = Workspace.init(work_dir / "ws", "beauty")
    for kind, path in community.import_files:
        import_file(workspace, kind, path)
    report = build(workspace, as_of=END)
    truth = json.loads(Path(community.truth_json).read_text(encoding="utf-8"))
    identities = workspace.lake.read_run_table("identities", report.run_id)
    telegram = identities.filter(pc.equal(identities.column("id_type"), "tg_user_id"))
    person_of = dict(zip(telegram.column("id_value").to_pylist(), telegram.column("person_id").to_pylist(),
                         strict=True))
    features = workspace.lake.read_run_table("features", report.run_id).select(
        ["person_id", "language", "messages_total"]).to_pylist()
    by_person = {row["person_id"]: row for row in features}
    groups: dict[str, list[bool]] = {"answered questionnaire": [], "no questionnaire": []}
    for tg_id, key in truth["identifiers"]["telegram_user_id"].items():
        who = truth["persons"][key]
        row = by_person.get(person_of.get(str(tg_id), ""))
        if who["role"] != "member" or row is None or not row["messages_total"]:
            continue      # profiled members who wrote messages (no consent: no features, nothing to score)
        group = "answered questionnaire" if who["answered_questionnaire"] else "no questionnaire"
        groups[group].append(row["language"] == who["language"])
    detector = _detector_alone(workspace, report.run_id, person_of, truth)
    workspace.close()
    result: dict[str, Any] = {name: {"persons": len(hits), "accuracy": round(sum(hits) / max(1, len(hits)), 4)}
                              for name, hits in groups.items()}
    every = groups["answered questionnaire"] + groups["no questionnaire"]
    result["all"] = {"persons": len(every), "accuracy": round(sum(every) / max(1, len(every)), 4)}
    return {"users": users, "seed": 11, "feature": result, "detector_every_member": detector}


def _detector_alone(workspace: Workspace, run_id: str, person_of: dict[str, str],
                    truth: dict[str, Any]) -> dict[str, Any]:
    """The engine's detector over every member who wrote (consent or not): messages plus ``language_code``,
    no region and no questionnaire."""
    engine = workspace.engine
    clean = engine.read_parquet(sorted(workspace.lake.run_table_path(run_id, "events_clean").glob("*.parquet")),
                                "eval_clean")
    detected = engine.execute(detected_languages(clean), "eval_languages").to_pylist()
    language_of = {row["person_id"]: row["detected_language"] for row in detected}
    hits = [language_of[person_of[str(tg_id)]] == truth["persons"][key]["language"]
            for tg_id, key in truth["identifiers"]["telegram_user_id"].items()
            if truth["persons"][key]["role"] == "member" and person_of.get(str(tg_id)) in language_of]
    return {"persons": len(hits), "accuracy": round(sum(hits) / max(1, len(hits)), 4)}


def main(argv: list[str] | None = None) -> dict[str, Any]:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--users", type=int, default=2000)
    parser.add_argument("--out", type=Path, default=Path("eval/person-language.json"))
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as work_dir:
        result = evaluate(args.users, Path(work_dir))
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2) + "\n")
    print(json.dumps(result, indent=2))
    return result


if __name__ == "__main__":
    main()
