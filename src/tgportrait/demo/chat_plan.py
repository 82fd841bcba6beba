"""Plan the demo's Telegram chats: reads a Population, returns memberships, staff and a ChatPlan per chat.

A ChatPlan is columnar (numpy arrays, one entry per exported message, in chronological order) and says
everything ``chat_export`` needs to write the Desktop export: who posted what kind of message when, its
language, intent and product, what it replies to, when it was edited and how many reactions it got.
Members post mostly in their local evening; how much they post is heavy-tailed (``Population.activity``).
Staff (admins, customer service, bots) answer questions, announce, run polls and post promotions.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from tgportrait.demo.catalogue import Industry
from tgportrait.demo.people import Population
from tgportrait.demo.phrases import INTENTS, QUESTION_INTENTS
from tgportrait.demo.regions import LANGUAGES, LOCAL_HOUR_WEIGHTS, REGIONS

DAY = 86_400
WEEK = 7 * DAY
MESSAGES_PER_ACTIVITY_WEEK = 2.6     # messages a week of a member with activity 1
BEFORE_WINDOW = np.int64(-1)         # joined_at of members who were in the chat before the export starts
NEVER = np.int64(2**62)              # left_at of members who stay

# Message kinds (ChatPlan.kind). Service kinds come after PIN.
TEXT, STICKER, PHOTO, FORWARD, VIA_BOT, SPAM, SUPPORT, ANNOUNCE, POLL, PROMO, WELCOME = range(11)
JOIN_LINK, JOIN_INVITED, LEAVE, KICK, PIN, UNSUPPORTED = range(11, 17)
SERVICE_KINDS = (JOIN_LINK, JOIN_INVITED, LEAVE, KICK, PIN)

INTENT_INDEX = {intent: index for index, intent in enumerate(INTENTS)}
# What members talk about; people who bought ask more about orders and say thanks more.
BROWSER_INTENT_MIX = np.array([12, 10, 12, 8, 3, 1, 2, 9, 43], dtype=float)
BUYER_INTENT_MIX = np.array([8, 7, 9, 7, 14, 6, 5, 14, 30], dtype=float)
QUESTION_MASK = np.array([intent in QUESTION_INTENTS for intent in INTENTS])


@dataclass(frozen=True)
class Staff:
    """Accounts run by the brand: index 0 is the admin, then customer-service agents, then bots."""

    names: tuple[str, ...]
    usernames: tuple[str, ...]
    tg_ids: tuple[int, ...]
    is_bot: tuple[bool, ...]
    agents: tuple[int, ...]
    promo_bot: int
    guard_bot: int
    shop_bot: int


def make_staff(rng: np.random.Generator, industry: Industry) -> Staff:
    brand = industry.brand
    names = (f"{brand} Admin", f"Sari | {brand} CS", f"Minh | {brand} CS", f"{brand} Promo Bot",
             "Group Guard Bot", f"{brand} Shop Bot")
    usernames = (f"{brand}Admin", f"{brand}_sari", f"{brand}_minh", f"{brand}PromoBot", "GroupGuardBot",
                 f"{brand}ShopBot")
    ids = rng.integers(8_000_000_000, 8_100_000_000, len(names))
    return Staff(names=names, usernames=usernames, tg_ids=tuple(int(i) for i in ids),
                 is_bot=(False, False, False, True, True, True), agents=(1, 2), promo_bot=3, guard_bot=4, shop_bot=5)


@dataclass(frozen=True)
class Membership:
    """Which chat each member is in and when they joined and left (unix seconds)."""

    chat_names: tuple[str, ...]
    chat_ids: tuple[int, ...]
    primary: np.ndarray          # chat index of each member
    secondary: np.ndarray        # second chat index or -1
    joined_at: np.ndarray        # BEFORE_WINDOW or the join time in the primary chat
    left_at: np.ndarray          # NEVER or the leave (or removal) time
    secondary_joined_at: np.ndarray

    def first_seen(self, start: int) -> np.ndarray:
        return np.where(self.joined_at == BEFORE_WINDOW, start, self.joined_at)


CHAT_SUFFIXES = ("Community", "Indonesia", "SEA Deals", "VIP Club", "Global", "Reviews", "Support", "Insiders")


def plan_membership(rng: np.random.Generator, population: Population, industry: Industry, chats: int,
                    start: int, end: int) -> Membership:
    members = population.members
    names = tuple(f"{industry.brand} {CHAT_SUFFIXES[k]}" if k < len(CHAT_SUFFIXES)
                  else f"{industry.brand} Community {k + 1}" for k in range(chats))
    ids = tuple(int(i) for i in 1_900_000_000 + rng.choice(90_000_000, chats, replace=False))
    primary = rng.integers(0, chats, members)
    secondary = np.full(members, -1)
    if chats > 1:
        has_second = rng.random(members) < 0.15
        offset = rng.integers(1, chats, members)
        secondary = np.where(has_second, (primary + offset) % chats, -1)
    span = end - start
    joined_before = rng.random(members) < 0.55
    # more people join as the community grows: density rises linearly over the window
    joined_at = np.where(joined_before, BEFORE_WINDOW, start + (np.sqrt(rng.random(members)) * span).astype(np.int64))
    first_seen = np.where(joined_before, start, joined_at)
    leaves = rng.random(members) < 0.07
    left_at = np.where(leaves, first_seen + (rng.exponential(60 * DAY, members)).astype(np.int64), NEVER)
    left_at = np.where(left_at >= end, NEVER, left_at)
    spammer = population.spammer[:members]
    joined_at = np.where(spammer, start + (rng.random(members) * span * 0.98).astype(np.int64), joined_at)
    left_at = np.where(spammer, joined_at + rng.integers(600, 7200, members), left_at)
    secondary = np.where(spammer, -1, secondary)
    secondary_joined_at = np.where(
        secondary >= 0, np.maximum(first_seen, start) + (rng.random(members) * span * 0.5).astype(np.int64), NEVER)
    secondary_joined_at = np.minimum(secondary_joined_at, end - DAY)
    return Membership(names, ids, primary, secondary, joined_at.astype(np.int64), left_at.astype(np.int64),
                      secondary_joined_at.astype(np.int64))


@dataclass
class ChatPlan:
    """Everything that happens in one chat, one entry per exported message, sorted by time."""

    chat_index: int
    actor_person: np.ndarray     # chat actor -> person index, -1 for staff and for the chat itself
    actor_staff: np.ndarray      # chat actor -> staff index, -1 for members; the last actor is the chat itself
    actor_joined: np.ndarray
    actor_left: np.ndarray
    ts: np.ndarray
    kind: np.ndarray
    actor: np.ndarray
    language: np.ndarray
    intent: np.ndarray
    category: np.ndarray
    variant: np.ndarray          # random integer picking a template / sticker / source
    target: np.ndarray           # position of the message replied to / pinned, or the actor joined / removed
    edited: np.ndarray           # 0 or the edit time
    link: np.ndarray             # 0 none, 1 product link, 2 promo link
    reactions: np.ndarray
    outside_reply: np.ndarray    # id offset of a reply to a message before the export window (0 none)


def local_evening_times(rng: np.random.Generator, low: np.ndarray, high: np.ndarray,
                        utc_offset_seconds: np.ndarray) -> np.ndarray:
    """Times between low and high whose local hour follows LOCAL_HOUR_WEIGHTS."""
    base = low + (rng.random(low.shape[0]) * np.maximum(high - low, 1)).astype(np.int64)
    local_day = (base + utc_offset_seconds) // DAY
    weights = np.array(LOCAL_HOUR_WEIGHTS)
    hours = rng.choice(24, size=low.shape[0], p=weights / weights.sum())
    seconds = rng.integers(0, 3600, low.shape[0])
    moved = local_day * DAY + hours * 3600 + seconds - utc_offset_seconds
    inside = (moved >= low) & (moved < high)
    return np.where(inside, moved, base).astype(np.int64)


def _region_offsets(population: Population, persons: np.ndarray) -> np.ndarray:
    offsets = np.array([int(region.utc_offset_hours * 3600) for region in REGIONS])
    return np.asarray(offsets[population.region[persons]])


def _reaction_counts(rng: np.random.Generator, mean: np.ndarray) -> np.ndarray:
    """Negative binomial counts (overdispersed: most messages get none, a few get many)."""
    shape = 0.6
    return rng.poisson(rng.gamma(shape, np.maximum(mean, 1e-9) / shape)).astype(np.int64)


def plan_chat(rng: np.random.Generator, chat: int, population: Population, membership: Membership, staff: Staff,
              industry: Industry, buyer: np.ndarray, start: int, end: int) -> ChatPlan:
    """Every message of chat ``chat`` between ``start`` and ``end`` (unix seconds)."""
    is_primary = membership.primary == chat
    is_secondary = membership.secondary == chat
    persons = np.flatnonzero(is_primary | is_secondary)
    members = int(persons.shape[0])
    joined = np.where(is_primary[persons], membership.joined_at[persons], membership.secondary_joined_at[persons])
    left = np.where(is_primary[persons], membership.left_at[persons], NEVER)
    share = np.where(membership.secondary[persons] >= 0, np.where(is_primary[persons], 0.75, 0.25), 1.0)
    staff_count = len(staff.names)
    actor_person = np.concatenate([persons, np.full(staff_count + 1, -1)])
    actor_staff = np.concatenate([np.full(members, -1), np.arange(staff_count + 1)])
    actor_joined = np.concatenate([joined, np.full(staff_count + 1, BEFORE_WINDOW)])
    actor_left = np.concatenate([left, np.full(staff_count + 1, NEVER)])
    chat_itself = members + staff_count
    admin = members

    active_from = np.where(joined == BEFORE_WINDOW, start, joined)
    active_to = np.minimum(left, end)
    weeks = np.maximum(active_to - active_from, 0) / WEEK
    spammer = population.spammer[persons]
    expected = population.activity[persons] * share * MESSAGES_PER_ACTIVITY_WEEK * weeks
    counts = np.where(spammer, rng.integers(1, 4, members), rng.poisson(expected))
    author = np.repeat(np.arange(members), counts)
    person = persons[author]
    n = int(author.shape[0])
    ts = local_evening_times(rng, active_from[author], active_to[author], _region_offsets(population, person))
    ts = np.where(spammer[author], joined[author] + rng.integers(5, 600, n), ts)

    kind = rng.choice([TEXT, STICKER, PHOTO, FORWARD, VIA_BOT], size=n, p=[0.795, 0.09, 0.07, 0.04, 0.005])
    kind[spammer[author]] = SPAM
    language = population.language[person].astype(np.int64)
    english = rng.random(n) < 0.04
    language[english] = LANGUAGES.index("en")
    is_buyer = buyer[person]
    browser_cdf = np.cumsum(BROWSER_INTENT_MIX) / BROWSER_INTENT_MIX.sum()
    buyer_cdf = np.cumsum(BUYER_INTENT_MIX) / BUYER_INTENT_MIX.sum()
    draw = rng.random(n)
    intent = np.where(is_buyer, np.searchsorted(buyer_cdf, draw), np.searchsorted(browser_cdf, draw))
    favourite_pick = rng.random(n)
    category = np.where(favourite_pick < 0.55, population.favourite[person, 0],
                        np.where(favourite_pick < 0.8, population.favourite[person, 1],
                                 rng.integers(0, len(industry.categories), n)))
    link = np.zeros(n, dtype=np.int64)
    texty = kind == TEXT
    link[texty & (rng.random(n) < 0.035)] = 1
    link[texty & (intent == INTENT_INDEX["price"]) & (rng.random(n) < 0.12)] = 2
    edited = np.where(texty & (rng.random(n) < 0.04), ts + rng.exponential(400, n).astype(np.int64) + 5, 0)

    parts: dict[str, list[np.ndarray]] = {
        "ts": [ts], "kind": [kind], "actor": [author], "language": [language], "intent": [intent],
        "category": [category], "target": [np.full(n, -1)], "edited": [edited], "link": [link]}

    def add(kind_value: int, when: np.ndarray, actor: np.ndarray, lang: np.ndarray, target: np.ndarray,
            category_value: np.ndarray | None = None, intent_value: np.ndarray | None = None) -> None:
        size = int(when.shape[0])
        parts["ts"].append(when.astype(np.int64))
        parts["kind"].append(np.full(size, kind_value))
        parts["actor"].append(actor.astype(np.int64))
        parts["language"].append(lang.astype(np.int64))
        parts["intent"].append(np.full(size, -1) if intent_value is None else intent_value)
        parts["category"].append(rng.integers(0, len(industry.categories), size) if category_value is None
                                 else category_value)
        parts["target"].append(target.astype(np.int64))
        parts["edited"].append(np.zeros(size, dtype=np.int64))
        parts["link"].append(np.zeros(size, dtype=np.int64))

    # customer service answers about one question in seven, usually within the hour
    question = QUESTION_MASK[intent] & (kind == TEXT) & (rng.random(n) < 0.15)
    asked = np.flatnonzero(question)
    answer_at = ts[asked] + np.exp(rng.normal(np.log(900), 1.0, asked.shape[0])).astype(np.int64) + 30
    keep = answer_at < end
    asked, answer_at = asked[keep], answer_at[keep]
    agents = np.array(staff.agents) + members
    add(SUPPORT, answer_at, rng.choice(agents, asked.shape[0]), language[asked], asked, category[asked],
        intent[asked])

    language_weights = np.bincount(population.language[persons], minlength=len(LANGUAGES)).astype(float)
    language_weights = language_weights / language_weights.sum() * 0.5
    language_weights[LANGUAGES.index("en")] += 0.5
    days = (end - start) / DAY

    def office_hours(count: int) -> np.ndarray:
        day = rng.integers(0, max(int(days), 1), count)
        return start + day * DAY + rng.integers(3 * 3600, 13 * 3600, count)   # 10:00-20:00 at UTC+7

    def staff_posts(kind_value: int, per_day: float, poster: int, pin_share: float) -> None:
        count = int(rng.poisson(per_day * days))
        when = office_hours(count)
        poster_actor = np.full(count, poster)
        if kind_value == ANNOUNCE:
            poster_actor[rng.random(count) < 0.1] = chat_itself
        lang = rng.choice(len(LANGUAGES), size=count, p=language_weights)
        first = sum(part.shape[0] for part in parts["ts"])
        add(kind_value, when, poster_actor, lang, np.full(count, -1))
        pinned = np.flatnonzero(rng.random(count) < pin_share)
        add(PIN, when[pinned] + rng.integers(30, 600, pinned.shape[0]), np.full(pinned.shape[0], admin),
            np.zeros(pinned.shape[0]), first + pinned)

    staff_posts(ANNOUNCE, 0.5, admin, 0.3)
    staff_posts(PROMO, 0.7, members + staff.promo_bot, 0.15)
    staff_posts(POLL, 1 / 7, admin, 0.2)

    # joins, leaves and removals
    joiners = np.flatnonzero((joined != BEFORE_WINDOW) & (joined < end))
    by_link = rng.random(joiners.shape[0]) < 0.8
    add(JOIN_LINK, joined[joiners[by_link]], joiners[by_link], np.zeros(int(by_link.sum())), joiners[by_link])
    invited = joiners[~by_link]
    early = np.flatnonzero(joined == BEFORE_WINDOW)
    inviter = rng.choice(early, invited.shape[0]) if early.size else np.full(invited.shape[0], admin)
    inviter = np.where(rng.random(invited.shape[0]) < 0.2, admin, inviter)
    add(JOIN_INVITED, joined[invited], inviter, np.zeros(invited.shape[0]), invited)
    welcomed = joiners[(rng.random(joiners.shape[0]) < 0.1) & ~spammer[joiners]]
    add(WELCOME, joined[welcomed] + rng.integers(2, 20, welcomed.shape[0]),
        np.full(welcomed.shape[0], members + staff.guard_bot), np.zeros(welcomed.shape[0]), welcomed)
    leavers = np.flatnonzero((left < end) & ~spammer)
    add(LEAVE, left[leavers], leavers, np.zeros(leavers.shape[0]), leavers)
    removed = np.flatnonzero((left < end) & spammer)
    add(KICK, left[removed], np.full(removed.shape[0], admin), np.zeros(removed.shape[0]), removed)
    rare = int(rng.poisson(max(n, 1) / 40_000 + 0.5))
    add(UNSUPPORTED, start + rng.integers(0, end - start, rare), np.full(rare, admin), np.zeros(rare),
        np.full(rare, -1))

    columns = {name: np.concatenate(values) for name, values in parts.items()}
    columns["ts"] = np.clip(columns["ts"], start, end - 1)
    order = np.argsort(columns["ts"], kind="stable")
    position = np.empty_like(order)
    position[order] = np.arange(order.shape[0])
    sorted_columns = {name: values[order] for name, values in columns.items()}
    kinds = sorted_columns["kind"]
    target = sorted_columns["target"]
    refers_to_message = np.isin(kinds, (SUPPORT, PIN))
    target = np.where(refers_to_message & (target >= 0), position[np.maximum(target, 0)], target)
    total = int(kinds.shape[0])

    # members reply to something said shortly before (a reply is a pointer to an earlier message)
    is_member_message = np.isin(kinds, (TEXT, STICKER, PHOTO)) & (sorted_columns["actor"] < members)
    replying = np.flatnonzero(is_member_message & (rng.random(total) < 0.22))
    candidate = replying - rng.geometric(0.3, replying.shape[0])
    ok = candidate >= 0
    candidate = np.maximum(candidate, 0)
    ok &= np.isin(kinds[candidate], (TEXT, STICKER, PHOTO, FORWARD, SUPPORT, ANNOUNCE, PROMO, POLL))
    ok &= sorted_columns["actor"][candidate] != sorted_columns["actor"][replying]
    target[replying[ok]] = candidate[ok]
    outside_reply = np.zeros(total, dtype=np.int64)
    far = is_member_message & (target < 0) & (rng.random(total) < 0.002)
    outside_reply[far] = rng.integers(1, 3000, int(far.sum()))

    mean = np.select(
        [kinds == TEXT, kinds == PHOTO, kinds == STICKER, kinds == FORWARD, kinds == SUPPORT, kinds == ANNOUNCE,
         kinds == PROMO, kinds == POLL, kinds == VIA_BOT],
        [0.6, 2.0, 0.25, 0.6, 0.3, min(0.01 * members, 250.0), min(0.004 * members, 120.0), 0.5, 0.3], 0.0)
    mean = np.where((kinds == TEXT) & (sorted_columns["intent"] == INTENT_INDEX["praise"]), 1.5, mean)
    reactions = _reaction_counts(rng, mean)
    variant = rng.integers(0, 1 << 30, total)
    return ChatPlan(
        chat_index=chat, actor_person=actor_person, actor_staff=actor_staff, actor_joined=actor_joined,
        actor_left=actor_left, ts=sorted_columns["ts"], kind=kinds, actor=sorted_columns["actor"],
        language=sorted_columns["language"], intent=sorted_columns["intent"], category=sorted_columns["category"],
        variant=variant, target=target, edited=np.minimum(sorted_columns["edited"], end - 1),
        link=sorted_columns["link"], reactions=reactions, outside_reply=outside_reply)
