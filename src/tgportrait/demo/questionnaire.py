"""Plan and write the demo's group-entry questionnaire: reads Population and Membership, writes questionnaire.csv.

About 70% of members answer the bot's questionnaire some time after they join: phone (as they type it),
Telegram username, region, age band and age, gender, language, device, interests and three consents.
Real answers are messy, so ~3% of rows hold only the user id and a few ages are impossible (-3, 140).
"""

from __future__ import annotations

import csv
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from tgportrait.demo.catalogue import Industry
from tgportrait.demo.chat_plan import DAY, Membership
from tgportrait.demo.people import PHONE_STYLES, Population, format_phone
from tgportrait.demo.regions import LANGUAGES, REGIONS

QUESTIONNAIRE_HEADER = (
    "telegram_user_id", "answered_at", "telegram_username", "phone", "region", "age_band", "age", "gender",
    "language", "device", "interests", "consent_profiling", "consent_marketing", "consent_sensitive",
)
ANSWER_SHARE = 0.72              # some answers would fall after the export ends; ~70% remain
BLANK_SHARE = 0.03
IMPOSSIBLE_AGES = (-3, 140, 0, 999)
USERNAME_FORMS = (0, 1, 2, 3)


@dataclass
class Questionnaire:
    """Who answered and what identifiers they gave (indexed by person)."""

    answered: np.ndarray         # bool per person
    answered_at: np.ndarray      # unix seconds (0 when not answered)
    blank: np.ndarray            # answered but left everything empty
    phone_style: np.ndarray      # -1 when no phone was given
    gave_username: np.ndarray
    username_form: np.ndarray    # how they typed their username (see username_as_typed)
    impossible_age: np.ndarray

    @property
    def rows(self) -> int:
        return int(self.answered.sum())


def age_band(age: int) -> str:
    if age < 18:
        return ""
    for upper, band in ((24, "18-24"), (34, "25-34"), (44, "35-44"), (54, "45-54")):
        if age <= upper:
            return band
    return "55+"


def plan_questionnaire(rng: np.random.Generator, population: Population, membership: Membership,
                       start: int, end: int) -> Questionnaire:
    size = population.size
    members = population.members
    answered = np.zeros(size, dtype=bool)
    answered_at = np.zeros(size, dtype=np.int64)
    seen = membership.first_seen(start)
    when = seen + rng.exponential(3 * DAY, members).astype(np.int64) + 60
    wants = (rng.random(members) < ANSWER_SHARE) & ~population.spammer[:members] & (when < end)
    wants &= when < membership.left_at
    answered[:members] = wants
    answered_at[:members] = np.where(wants, when, 0)
    blank = answered & (rng.random(size) < BLANK_SHARE)
    given = answered & ~blank
    phone_style = np.where(given & (rng.random(size) < 0.8), rng.integers(0, PHONE_STYLES, size), -1)
    has_username = np.array([bool(name) for name in population.username])
    gave_username = given & has_username & (rng.random(size) < 0.85)
    username_form = rng.choice(USERNAME_FORMS, size=size, p=[0.6, 0.3, 0.1, 0.0])
    impossible = np.zeros(size, dtype=bool)
    candidates = np.flatnonzero(given)
    if candidates.size:
        count = max(2, int(round(candidates.size * 0.002)))
        impossible[rng.choice(candidates, min(count, candidates.size), replace=False)] = True
    return Questionnaire(answered, answered_at, blank, phone_style, gave_username, username_form, impossible)


def username_as_typed(username: str, form: int) -> str:
    """A username as typed: 0 as is, 1 with '@', 2 other case, 3 '@' and other case (all the same username)."""
    if form in (2, 3):
        username = username.lower() if username != username.lower() else username[:1].upper() + username[1:]
    return "@" + username if form in (1, 3) else username


def write_questionnaire(path: Path, rng: np.random.Generator, population: Population, questionnaire: Questionnaire,
                        industry: Industry) -> None:
    """One row per answer, in the order the answers arrived."""
    respondents = np.flatnonzero(questionnaire.answered)
    respondents = respondents[np.argsort(questionnaire.answered_at[respondents], kind="stable")]
    draws = rng.random((respondents.shape[0], 8))
    variants = rng.integers(0, 1 << 30, respondents.shape[0])
    topics_of_concern = [concern.topic for concern in industry.concerns]
    with path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle, lineterminator="\n")
        writer.writerow(QUESTIONNAIRE_HEADER)
        for row, person in enumerate(respondents.tolist()):
            tg_id = str(population.tg_id[person])
            if questionnaire.blank[person]:
                writer.writerow([tg_id] + [""] * (len(QUESTIONNAIRE_HEADER) - 1))
                continue
            draw = draws[row]
            answered_at = np.datetime_as_string(np.datetime64(int(questionnaire.answered_at[person]), "s")) + "Z"
            style = int(questionnaire.phone_style[person])
            phone = format_phone(population, person, style) if style >= 0 else ""
            username = (username_as_typed(population.username[person], int(questionnaire.username_form[person]))
                        if questionnaire.gave_username[person] else "")
            region = REGIONS[int(population.region[person])].code if draw[0] > 0.02 else ""
            age = int(population.age[person])
            band = age_band(age)
            age_text = str(age) if draw[1] < 0.85 else ""
            if questionnaire.impossible_age[person]:
                age_text = str(IMPOSSIBLE_AGES[int(variants[row]) % len(IMPOSSIBLE_AGES)])
            gender = ("prefer not to say" if draw[2] < 0.03 else
                      "female" if population.female[person] else "male")
            favourite = population.favourite[person]
            interests = [topics_of_concern[int(population.concern[person])]]
            interests += [industry.categories[int(category)].topic for category in favourite]
            interests = list(dict.fromkeys(interests))[: 1 + int(draw[3] * 3)]
            writer.writerow([
                tg_id, answered_at, username, phone, region, band, age_text, gender,
                LANGUAGES[int(population.language[person])], population.device[person], ";".join(interests),
                "yes" if draw[4] < 0.85 else "no", "yes" if draw[5] < 0.6 else "no",
                "yes" if draw[6] < 0.4 else "no",
            ])
