"""CheckedRule.explain: each rule in plain English, checked word for word."""

from __future__ import annotations

import pytest

from tgportrait.label.catalogue import FeatureSpec
from tgportrait.rules import RuleCatalog, check_rule
from tgportrait.rules.explain import feature_phrase

CONDITIONS = [
    ('orders_90d >= 1 and asked("new_product", days=90)',
     "paid orders in the last 90 days is at least 1 and asked about 'new_product' in the last 90 days"),
    ('avg_order_usd >= 500',
     'average paid order value is at least 500 USD'),
    ('has_label("skin/sensitive") and not has_label("price/price_sensitive")',
     "has the label 'Sensitive skin' and does not have the label 'Price sensitive'"),
    ('last_seen_days > 30 and messages_90d >= 20',
     'days since the last Telegram activity is more than 30 and messages written in the last 90 days is at least 20'),
    ('region in ("ID", "MY") and age_band == "25-34"',
     "country from the strongest evidence is 'ID' or 'MY' and age band is '25-34'"),
    ('language != "en" or gender is null',
     "preferred language is not 'en' or gender is missing"),
    ('spend_365d_usd / orders_365d > 100 and (interest_moisturizing >= 2 or top_category == "moisturiser")',
     "spend on paid orders in the last 365 days divided by paid orders in the last 365 days is more than 100 "
     "and (evidence of interest in 'moisturizing' is at least 2 or category with the highest paid spend is "
     "'moisturiser')"),
    ('clicked(days=30) and not joined(days=7)',
     'clicked a tracked link or button in the last 30 days and did not join a chat in the last 7 days'),
    ('has_label("discount-sensitive")',
     "has the label 'Price sensitive'"),
    ('not asked("price", days=1)',
     "did not ask about 'price' in the last day"),
    ('clicked("spring") or joined(campaign="spring", days=14)',
     "clicked a tracked link or button of campaign 'spring' in the last 90 days or joined a chat through "
     "campaign 'spring' in the last 14 days"),
    ('not clicked(campaign="spring", days=30)',
     "did not click a tracked link or button of campaign 'spring' in the last 30 days"),
    ('not joined()',
     'did not join a chat in the last 30 days'),
    ('region not in ("ID", "MY")',
     "country from the strongest evidence is neither 'ID' nor 'MY'"),
    ('region not in ("ID", "MY", "SG")',
     "country from the strongest evidence is none of 'ID', 'MY', 'SG'"),
    ('not region in ("ID")',
     "country from the strongest evidence is not 'ID'"),
    ('region in ("ID")',
     "country from the strongest evidence is 'ID'"),
    ('gender is not null',
     'gender is known'),
    ('not gender is null',
     'gender is known'),
    ('has_phone',
     'a valid phone number is known'),
    ('not has_phone',
     'it is not true that a valid phone number is known'),
    ('has_phone == false',
     'it is not true that a valid phone number is known'),
    ('is_customer and has_email != true',
     'has a CRM customer record or an order and it is not true that a valid e-mail address is known'),
    ('not (orders_90d >= 1)',
     'paid orders in the last 90 days is not at least 1'),
    ('not orders_90d < 3',
     'paid orders in the last 90 days is not less than 3'),
    ('not (has_phone or has_email)',
     'not (a valid phone number is known or a valid e-mail address is known)'),
    ('not not has_phone',
     'a valid phone number is known'),
    ('orders_90d >= 1 or messages_30d > 5 and has_phone',
     "paid orders in the last 90 days is at least 1 or (messages written in the last 30 days is more than 5 "
     "and a valid phone number is known)"),
    ('(orders_90d >= 1 or messages_30d > 5) and has_phone',
     "(paid orders in the last 90 days is at least 1 or messages written in the last 30 days is more than 5) "
     "and a valid phone number is known"),
    ('refund_rate < 0.1 and device == "ios"',
     "refund rate is less than 0.1 and device is 'ios'"),
    ("asked_price_90d >= 2 and timezone == 'Asia/Jakarta'",
     "messages with the 'price' intent in the last 90 days is at least 2 and IANA time zone used for local "
     "hours is 'Asia/Jakarta'"),
    ('spend_total_usd - spend_365d_usd > 1_000',
     'spend on paid orders ever minus spend on paid orders in the last 365 days is more than 1000'),
    ("region == 'it\\'s'",
     'country from the strongest evidence is "it\'s"'),
    ('true and has_phone',
     'true and a valid phone number is known'),
]

SCORES = [
    ('spend_365d_usd / (orders_365d + 1) * 2',
     '(spend on paid orders in the last 365 days divided by (paid orders in the last 365 days plus 1)) times 2'),
    ('coalesce(spend_365d_usd / orders_365d, 0) + max(orders_90d, 1) * -2',
     "((spend on paid orders in the last 365 days divided by paid orders in the last 365 days) (or 0 when "
     "missing)) plus (the larger of paid orders in the last 90 days and 1) times -2"),
    ('abs(-orders_90d)',
     'the absolute value of minus paid orders in the last 90 days'),
    ('-(orders_90d - 1)',
     'minus (paid orders in the last 90 days minus 1)'),
    ('min(orders_30d, 3) - orders_90d - (orders_365d - 1)',
     "(the smaller of paid orders in the last 30 days and 3) minus paid orders in the last 90 days minus (paid "
     "orders in the last 365 days minus 1)"),
]


@pytest.mark.parametrize(("text", "words"), CONDITIONS)
def test_conditions(catalog: RuleCatalog, text: str, words: str) -> None:
    assert check_rule(text, catalog).explain() == words


@pytest.mark.parametrize(("text", "words"), SCORES)
def test_scores(catalog: RuleCatalog, text: str, words: str) -> None:
    assert check_rule(text, catalog, expect="number").explain() == words


@pytest.mark.parametrize(("description", "phrase"), [
    ("Paid orders in the last 90 days.", "paid orders in the last 90 days"),
    ("Days since the last paid order (null: never ordered).", "days since the last paid order"),
    ("Age band: 18-24, 25-34, 35-44, 45-54, 55+.", "age band"),
    ("IANA time zone used for local hours.", "IANA time zone used for local hours"),
    ("female, male or other (as given).", "my feature"),
    ("(refunds + cancellations) / (orders + cancellations).", "my feature"),
    ("", "my feature"),
])
def test_feature_phrase(description: str, phrase: str) -> None:
    assert feature_phrase(FeatureSpec("my_feature", "int", "behaviour", description)) == phrase
