"""Write one demo chat as a Telegram Desktop export: reads a ChatPlan, writes result.json (single-chat layout).

The layout, key order and indentation follow Telegram Desktop's serializer (export_output_json.cpp, see
../shared/reference/telegram-notes.md section D): one object ``{name, type, id, messages}``; ``date`` in the
exporting computer's local time (UTC+07:00 here) plus ``date_unixtime`` as a string; ``from_id``
"user<id>"; ``from: null`` for deleted accounts; ``text`` a string or a list of parts with
``text_entities`` always a list; reactions with ``count`` and up to three ``recent`` reactors; service
messages with ``actor``/``action``. Messages are streamed into the file in chunks, never held as one object.
"""

from __future__ import annotations

import base64
import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from tgportrait.demo import chat_plan as kinds
from tgportrait.demo.catalogue import Industry
from tgportrait.demo.chat_plan import ChatPlan, Staff
from tgportrait.demo.people import Population
from tgportrait.demo.phrases import (
    FORWARD_SOURCES,
    INTENTS,
    MEMBER_PHRASES,
    REACTION_EMOJI,
    SPAM_PHRASES,
    STAFF_PHRASES,
    STICKER_EMOJI,
    SUPPORT_REPLY_FOR_INTENT,
)
from tgportrait.demo.regions import LANGUAGES

EXPORT_UTC_OFFSET = 7 * 3600
FILE_NOT_INCLUDED = "(File not included. Change data exporting settings to download.)"
FILE_UNAVAILABLE = "(File unavailable, please try again later)"
PROMO_CODES = ("FLASH20", "PAYDAY15", "WEEKEND10", "MEMBER25", "NEWBIE10")
PHOTO_SIZES = ((1280, 960), (960, 1280), (1080, 1080), (1280, 720))
NEGATIVE_INTENTS = (INTENTS.index("complaint"), INTENTS.index("after_sales"))
POSITIVE_EMOJI_WEIGHTS = (30, 28, 14, 10, 6, 4, 3, 2, 0.5, 0.5, 0.2, 1.8, 1.0)   # last: a custom emoji
NEGATIVE_EMOJI_WEIGHTS = (8, 2, 0.5, 0.5, 0.5, 0.5, 0.5, 3, 40, 20, 24, 0, 0.5)
CUSTOM_EMOJI = len(REACTION_EMOJI)
K = "\n   "                      # start of a key inside a message object
CHUNK = 20_000


@dataclass(frozen=True)
class ExportCounts:
    messages: int = 0
    service: int = 0
    unsupported: int = 0
    reactions: int = 0
    replies: int = 0
    edits: int = 0
    forwards: int = 0
    stickers: int = 0
    photos: int = 0
    polls: int = 0
    links: int = 0


Part = tuple[str, str, str]      # (entity type, text, extra key line such as ',\n     "href": "..."')


def _json(value: str) -> str:
    return json.dumps(value, ensure_ascii=False)


def _entity(kind: str, text: str, extra: str) -> str:
    return f'{{\n     "type": "{kind}",\n     "text": {_json(text)}{extra}\n    }}'


def text_fields(parts: list[Part]) -> str:
    """``,"text": ..., "text_entities": [...]`` as Desktop's SerializeText writes them."""
    if not parts:
        return f',{K}"text": "",{K}"text_entities": []'
    if len(parts) == 1 and parts[0][0] == "plain":
        text = _json(parts[0][1])
        return (f',{K}"text": {text},{K}"text_entities": [\n    {{\n     "type": "plain",\n     "text": {text}'
                f"\n    }}\n   ]")
    mixed = ",\n    ".join(_json(text) if kind == "plain" else _entity(kind, text, extra)
                           for kind, text, extra in parts)
    objects = ",\n    ".join(_entity(kind, text, extra) for kind, text, extra in parts)
    return f',{K}"text": [\n    {mixed}\n   ],{K}"text_entities": [\n    {objects}\n   ]'


def inline_buttons(rows: list[list[tuple[str, str, str]]]) -> str:
    """``inline_bot_buttons``: rows of (type, text, data); callback data goes base64url into dataBase64."""
    rendered_rows = []
    for row in rows:
        buttons = []
        for kind, text, data in row:
            if kind == "callback":
                encoded = base64.urlsafe_b64encode(data.encode()).decode().rstrip("=")
                payload = f',\n      "dataBase64": "{encoded}",\n      "data": ""'
            else:
                payload = f',\n      "data": {_json(data)}'
            buttons.append(f'{{\n      "type": "{kind}",\n      "text": {_json(text)}{payload}\n     }}')
        rendered_rows.append("[\n     " + ",\n     ".join(buttons) + "\n    ]")
    return f',{K}"inline_bot_buttons": [\n    ' + ",\n    ".join(rendered_rows) + "\n   ]"


def local_time_strings(unix: np.ndarray) -> list[str]:
    """ISO local times of the exporting computer, without offset, as Desktop writes ``date``."""
    return np.datetime_as_string((unix + EXPORT_UTC_OFFSET).astype("datetime64[s]")).tolist()


def _weights(values: tuple[float, ...]) -> np.ndarray:
    array = np.array(values, dtype=float)
    return np.asarray(array / array.sum())


class _Reactions:
    """One unit per reaction: who reacted, with what, when; units of a message sorted newest first."""

    def __init__(self, rng: np.random.Generator, plan: ChatPlan, activity: np.ndarray, end: int) -> None:
        members = int((plan.actor_person >= 0).sum())
        self.offsets: list[int] = np.concatenate([[0], np.cumsum(plan.reactions)]).tolist()
        item = np.repeat(np.arange(plan.reactions.shape[0]), plan.reactions)
        propensity = 0.25 + activity[plan.actor_person[:members]]
        reactor = rng.choice(members, size=item.shape[0], p=propensity / propensity.sum())
        when = plan.ts[item]
        absent = (plan.actor_joined[reactor] > when) | (plan.actor_left[reactor] <= when)
        stayers = np.flatnonzero((plan.actor_joined[:members] < 0) & (plan.actor_left[:members] > end))
        if stayers.size:
            reactor[absent] = rng.choice(stayers, int(absent.sum()))
        negative = np.isin(plan.intent[item], NEGATIVE_INTENTS) & (plan.kind[item] == kinds.TEXT)
        emoji = np.where(negative, rng.choice(CUSTOM_EMOJI + 1, item.shape[0], p=_weights(NEGATIVE_EMOJI_WEIGHTS)),
                         rng.choice(CUSTOM_EMOJI + 1, item.shape[0], p=_weights(POSITIVE_EMOJI_WEIGHTS)))
        at = np.minimum(when + rng.exponential(3 * 3600, item.shape[0]).astype(np.int64), end - 1)
        newest_first = np.lexsort((-at, item))
        self.reactor: list[int] = reactor[newest_first].tolist()
        self.emoji: list[int] = emoji[newest_first].tolist()
        self.date = local_time_strings(at[newest_first])


class _ExportWriter:
    """Renders the messages of one ChatPlan; one method per message kind."""

    def __init__(self, plan: ChatPlan, chat_name: str, chat_id: int, population: Population, staff: Staff,
                 industry: Industry, first_orders: list[tuple[str, int]], rng: np.random.Generator,
                 end: int) -> None:
        self.plan, self.population, self.staff, self.industry = plan, population, staff, industry
        self.first_orders, self.end = first_orders, end
        self.members = int((plan.actor_person >= 0).sum())
        self.names: list[str] = []
        self.ids: list[str] = []
        self.usernames: list[str] = []
        for person, staff_index in zip(plan.actor_person.tolist(), plan.actor_staff.tolist(), strict=True):
            if person >= 0:
                self.names.append("null" if population.deleted[person] else _json(population.display_name[person]))
                self.ids.append(f'"user{population.tg_id[person]}"')
                self.usernames.append(population.username[person])
            elif staff_index < len(staff.names):
                self.names.append(_json(staff.names[staff_index]))
                self.ids.append(f'"user{staff.tg_ids[staff_index]}"')
                self.usernames.append(staff.usernames[staff_index])
            else:                                    # the chat itself: an anonymous admin
                self.names.append(_json(chat_name))
                self.ids.append(f'"channel{chat_id}"')
                self.usernames.append("")
        self.from_fields = [f',{K}"from": {name},{K}"from_id": {id_}' for name, id_ in zip(self.names, self.ids,
                                                                                           strict=True)]
        self.actor_fields = [f',{K}"actor": {name},{K}"actor_id": {id_}' for name, id_ in zip(self.names, self.ids,
                                                                                              strict=True)]
        self.recent_heads = [f'{{\n        "from": {name},\n        "from_id": {id_},\n        "date": "'
                             for name, id_ in zip(self.names, self.ids, strict=True)]
        self.ts = plan.ts.tolist()
        self.dates = local_time_strings(plan.ts)
        edited = np.flatnonzero(plan.edited)
        self.edited = dict(zip(edited.tolist(), zip(local_time_strings(plan.edited[edited]),
                                                    plan.edited[edited].tolist(), strict=True), strict=True))
        self.kind, self.actor = plan.kind.tolist(), plan.actor.tolist()
        self.language, self.intent = plan.language.tolist(), plan.intent.tolist()
        self.category, self.variant = plan.category.tolist(), plan.variant.tolist()
        self.target, self.link = plan.target.tolist(), plan.link.tolist()
        self.reaction_count, self.outside = plan.reactions.tolist(), plan.outside_reply.tolist()
        self.person_of_actor = plan.actor_person.tolist()
        self.concern = population.concern.tolist()
        total = len(self.ts)
        gaps = rng.random(total) < 0.03
        ids = int(rng.integers(2_000, 60_000)) + np.arange(total) + np.cumsum(gaps * rng.integers(1, 4, total))
        self.message_id: list[int] = ids.tolist()
        self.reactions = _Reactions(rng, plan, population.activity, end)
        self.counts = {name: 0 for name in ExportCounts.__dataclass_fields__}
        self.text_cache: dict[tuple[int, ...], str] = {}
        self.sku = {category.key: next(p for p in industry.products if p.category == category.key)
                    for category in industry.categories}
        self.photos = 0

    # --- pieces -------------------------------------------------------------------------------------------
    def product_url(self, category: int) -> str:
        sku = self.sku[self.industry.categories[category].key].sku
        return f"https://{self.industry.domain}/p/{sku.lower()}?utm_source=telegram"

    def promo(self, variant: int) -> tuple[str, str]:
        code = PROMO_CODES[variant % len(PROMO_CODES)]
        return code, f"https://{self.industry.domain}/promo/{code}?utm_source=telegram&utm_campaign={code.lower()}"

    def word(self, index: int) -> str:
        return self.industry.categories[self.category[index]].words[LANGUAGES[self.language[index]]]

    def member_text(self, index: int) -> str:
        language = LANGUAGES[self.language[index]]
        templates = MEMBER_PHRASES[language][INTENTS[self.intent[index]]]
        template = templates[self.variant[index] % len(templates)]
        person = self.person_of_actor[self.actor[index]]
        concern = self.industry.concerns[self.concern[person]]
        order = ""
        if "{o}" in template:
            order_id, ordered_at = self.first_orders[person]
            # people who have not ordered from the shop yet ask about marketplace orders
            order = order_id if order_id and ordered_at <= self.ts[index] else f"MP{self.variant[index] % 10**8:08d}"
        return template.format(p=self.word(index), c=concern.words[language], o="#" + order)

    def plain_member_text(self, index: int) -> str:
        """Text fields of a plain member message, cached when the text has no order number."""
        templates = MEMBER_PHRASES[LANGUAGES[self.language[index]]][INTENTS[self.intent[index]]]
        template = self.variant[index] % len(templates)
        if "{o}" in templates[template]:
            return text_fields([("plain", self.member_text(index), "")])
        person = self.person_of_actor[self.actor[index]]
        key = (self.language[index], self.intent[index], template, self.category[index], self.concern[person])
        cached = self.text_cache.get(key)
        if cached is None:
            cached = self.text_cache[key] = text_fields([("plain", self.member_text(index), "")])
        return cached

    def reactions_field(self, index: int) -> str:
        pool = self.reactions
        first, last = pool.offsets[index], pool.offsets[index + 1]
        by_emoji: dict[int, list[int]] = {}
        for unit in range(first, last):
            by_emoji.setdefault(pool.emoji[unit], []).append(unit)
        blocks = []
        for emoji, units in sorted(by_emoji.items(), key=lambda pair: (-len(pair[1]), pair[0])):
            if emoji == CUSTOM_EMOJI:
                head = f'"type": "custom_emoji",\n      "count": {len(units)},\n      "document_id": ' \
                       f'"stickers/AnimatedSticker.tgs"'
            else:
                head = f'"type": "emoji",\n      "count": {len(units)},\n      "emoji": "{REACTION_EMOJI[emoji]}"'
            recent = ",\n       ".join(f'{self.recent_heads[pool.reactor[unit]]}{pool.date[unit]}"\n       }}'
                                       for unit in units[:3])
            blocks.append(f'{{\n      {head},\n      "recent": [\n       {recent}\n      ]\n     }}')
        self.counts["reactions"] += last - first
        return f',{K}"reactions": [\n     ' + ",\n     ".join(blocks) + "\n    ]"

    def service(self, index: int, action: str, extra: str) -> str:
        self.counts["service"] += 1
        return (f'{{{K}"id": {self.message_id[index]},{K}"type": "service",{K}"date": "{self.dates[index]}",{K}'
                f'"date_unixtime": "{self.ts[index]}"{self.actor_fields[self.actor[index]]},{K}"action": "{action}"'
                f'{extra},{K}"text": "",{K}"text_entities": []\n  }}')

    def members_field(self, actor: int) -> str:
        return f',{K}"members": [\n    {self.names[actor]}\n   ]'

    # --- messages -----------------------------------------------------------------------------------------
    def render(self, index: int) -> str:
        kind = self.kind[index]
        if kind == kinds.UNSUPPORTED:
            self.counts["unsupported"] += 1
            return f'{{{K}"id": {self.message_id[index]},{K}"type": "unsupported"\n  }}'
        target = self.target[index]
        if kind == kinds.JOIN_LINK:
            return self.service(index, "join_group_by_link", f',{K}"inviter": {self.names[self.members]}')
        if kind == kinds.JOIN_INVITED:
            return self.service(index, "invite_members", self.members_field(target))
        if kind == kinds.LEAVE:
            return self.service(index, "remove_members", self.members_field(self.actor[index]))
        if kind == kinds.KICK:
            return self.service(index, "remove_members", self.members_field(target))
        if kind == kinds.PIN:
            return self.service(index, "pin_message", f',{K}"message_id": {self.message_id[target]}')

        self.counts["messages"] += 1
        head = (f'{{{K}"id": {self.message_id[index]},{K}"type": "message",{K}"date": "{self.dates[index]}",{K}'
                f'"date_unixtime": "{self.ts[index]}"')
        edit = self.edited.get(index)
        if edit is not None:
            self.counts["edits"] += 1
            head += f',{K}"edited": "{edit[0]}",{K}"edited_unixtime": "{edit[1]}"'
        head += self.from_fields[self.actor[index]]
        if kind == kinds.FORWARD:
            self.counts["forwards"] += 1
            sources = (f"{self.industry.brand} Official",) + FORWARD_SOURCES
            head += f',{K}"forwarded_from": {_json(sources[self.variant[index] % len(sources)])}'
        if target >= 0 and kind in (kinds.TEXT, kinds.STICKER, kinds.PHOTO, kinds.SUPPORT):
            self.counts["replies"] += 1
            head += f',{K}"reply_to_message_id": {self.message_id[target]}'
        elif self.outside[index]:
            self.counts["replies"] += 1
            head += f',{K}"reply_to_message_id": {max(1, self.message_id[0] - self.outside[index])}'
        body = self.body(index, kind, target)
        if self.reaction_count[index]:
            body += self.reactions_field(index)
        return head + body + "\n  }"

    def body(self, index: int, kind: int, target: int) -> str:
        variant = self.variant[index]
        staff_phrases = STAFF_PHRASES[LANGUAGES[self.language[index]]]
        if kind == kinds.TEXT:
            return self.text_body(index, target)
        if kind == kinds.STICKER:
            self.counts["stickers"] += 1
            return (f',{K}"file": "{FILE_NOT_INCLUDED}",{K}"file_name": "sticker.webp",{K}"file_size": '
                    f'{18_000 + variant % 30_000},{K}"thumbnail": "{FILE_NOT_INCLUDED}",{K}"thumbnail_file_size": '
                    f'{4_000 + variant % 6_000},{K}"media_type": "sticker",{K}"sticker_emoji": '
                    f'"{STICKER_EMOJI[variant % len(STICKER_EMOJI)]}",{K}"mime_type": "image/webp",{K}"width": 512,'
                    f'{K}"height": 512' + text_fields([]))
        if kind == kinds.PHOTO:
            return self.photo_body(index, variant)
        if kind == kinds.FORWARD:
            announcement = staff_phrases.announcements[variant % len(staff_phrases.announcements)]
            return text_fields([("plain", announcement.format(p=self.word(index), brand=self.industry.brand), "")])
        if kind == kinds.VIA_BOT:
            product = self.sku[self.industry.categories[self.category[index]].key]
            url = self.product_url(self.category[index])
            parts = [("bold", product.name, ""), ("plain", f"\n{product.price_usd:.2f} USD\n", ""), ("link", url, "")]
            return (f',{K}"via_bot": "@{self.staff.usernames[self.staff.shop_bot]}"' + text_fields(parts)
                    + inline_buttons([[("url", staff_phrases.shop_button, url)]]))
        if kind == kinds.SPAM:
            invite = base64.urlsafe_b64encode(variant.to_bytes(8, "big")).decode()[:11]
            return text_fields([("plain", SPAM_PHRASES[variant % len(SPAM_PHRASES)] + " ", ""),
                                ("link", f"https://t.me/+{invite}", "")])
        if kind == kinds.SUPPORT:
            answer = SUPPORT_REPLY_FOR_INTENT.get(INTENTS[self.intent[index]], 1)
            return text_fields([("plain", staff_phrases.support[answer].format(p=self.word(index)), "")])
        if kind == kinds.ANNOUNCE:
            announcement = staff_phrases.announcements[variant % len(staff_phrases.announcements)]
            parts = [("plain", announcement.format(p=self.word(index), brand=self.industry.brand), "")]
            if variant % 3 == 0:
                parts += [("plain", " ", ""), ("hashtag", f"#{self.industry.brand.lower()}news", "")]
            return text_fields(parts)
        if kind == kinds.POLL:
            return self.poll_body(index, variant)
        if kind == kinds.PROMO:
            code, url = self.promo(variant)
            title = staff_phrases.promo_titles[variant % len(staff_phrases.promo_titles)]
            text = staff_phrases.promo_bodies[variant % len(staff_phrases.promo_bodies)].format(p=self.word(index))
            parts = [("bold", title.format(d=(10, 15, 20, 25, 30)[variant % 5]), ""), ("plain", f"\n{text}\n", ""),
                     ("text_link", staff_phrases.shop_button, f',\n     "href": {_json(url)}'), ("plain", " ", ""),
                     ("hashtag", "#promo", "")]
            return text_fields(parts) + inline_buttons([[("url", staff_phrases.shop_button, url)],
                                                         [("callback", staff_phrases.coupon_button, f"coupon:{code}")]])
        person = self.person_of_actor[target]             # WELCOME from the guard bot
        if self.population.deleted[person]:
            return text_fields([("plain", "Welcome! Please read the pinned rules 🙏", "")])
        return text_fields([("plain", "Welcome, ", ""),
                            ("mention_name", self.population.display_name[person],
                             f',\n     "user_id": {self.population.tg_id[person]}'),
                            ("plain", "! Please read the pinned rules 🙏", "")])

    def text_body(self, index: int, target: int) -> str:
        variant = self.variant[index]
        replied = self.actor[target] if target >= 0 else -1
        mention = replied >= 0 and bool(self.usernames[replied]) and variant % 5 == 0
        if not mention and not self.link[index]:
            return self.plain_member_text(index)
        parts: list[Part] = []
        text = self.member_text(index)
        if mention:
            parts.append(("mention", "@" + self.usernames[replied], ""))
            text = " " + text
        if self.link[index]:
            self.counts["links"] += 1
            url = self.product_url(self.category[index]) if self.link[index] == 1 else self.promo(variant)[1]
            parts += [("plain", text + " ", ""), ("link", url, "")]
        else:
            parts.append(("plain", text, ""))
        return text_fields(parts)

    def photo_body(self, index: int, variant: int) -> str:
        self.counts["photos"] += 1
        self.photos += 1
        date = self.dates[index]
        width, height = PHOTO_SIZES[variant % len(PHOTO_SIZES)]
        photo = (FILE_UNAVAILABLE if variant % 40 == 0 else
                 f"photos/photo_{self.photos}@{date[8:10]}-{date[5:7]}-{date[0:4]}_{date[11:13]}-{date[14:16]}-"
                 f"{date[17:19]}.jpg")
        caption = [("plain", self.member_text(index), "")] if variant % 5 < 2 else []
        return (f',{K}"photo": "{photo}",{K}"photo_file_size": {45_000 + variant % 350_000},{K}"width": {width},{K}'
                f'"height": {height}' + text_fields(caption))

    def poll_body(self, index: int, variant: int) -> str:
        self.counts["polls"] += 1
        language = LANGUAGES[self.language[index]]
        categories = self.industry.categories
        options = list(dict.fromkeys((self.category[index] + step * (1 + variant % 3)) % len(categories)
                                     for step in range(4)))
        voters = np.random.default_rng(variant).multinomial(20 + variant % max(self.members // 20, 30),
                                                            np.ones(len(options)) / len(options)).tolist()
        answers = ",\n     ".join(
            f'{{\n      "text": {_json(categories[option].words[language])},\n      "voters": {votes},\n      '
            f'"chosen": false\n     }}' for option, votes in zip(options, voters, strict=True))
        closed = "true" if self.ts[index] < self.end - 7 * 86_400 else "false"
        return (f',{K}"poll": {{\n    "question": {_json(STAFF_PHRASES[language].poll_question)},\n    "closed": '
                f'{closed},\n    "total_voters": {sum(voters)},\n    "answers": [\n     {answers}\n    ]\n   }}'
                + text_fields([]))


def write_chat_export(path: Path, plan: ChatPlan, *, chat_name: str, chat_id: int, population: Population,
                      staff: Staff, industry: Industry, first_orders: list[tuple[str, int]],
                      rng: np.random.Generator, end: int) -> ExportCounts:
    """Stream ``plan`` into ``path`` as a single-chat Desktop export of a public supergroup."""
    writer = _ExportWriter(plan, chat_name, chat_id, population, staff, industry, first_orders, rng, end)
    with path.open("w", encoding="utf-8") as handle:
        handle.write(f'{{\n "name": {_json(chat_name)},\n "type": "public_supergroup",\n "id": {chat_id},\n'
                     f' "messages": [')
        chunk: list[str] = []
        for index in range(len(writer.ts)):
            chunk.append((",\n  " if index else "\n  ") + writer.render(index))
            if len(chunk) >= CHUNK:
                handle.write("".join(chunk))
                chunk = []
        handle.write("".join(chunk))
        handle.write("\n ]\n}")
    return ExportCounts(**writer.counts)
