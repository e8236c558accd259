"""Content gaps grouped within each language: by cosine where the embedder is trusted, else by words."""

from __future__ import annotations

import contextlib
import itertools
import re
from collections.abc import Sequence
from dataclasses import replace
from datetime import UTC, datetime

import httpx
import numpy as np
import numpy.typing as npt
import pytest

from bot.channels.web.app import build_app
from bot.channels.web.gaps import SAME_TERMS, GapGroup, cosine_languages, group_gaps, question_terms
from bot.kb.analysis import question_language
from bot.kb.base import KBUnavailableError
from bot.kb.calibration import Calibration, LanguageFit
from bot.store.insights import GapQuestion
from tests.fakes import FakeEmbedder, FakeKB
from tests.web.conftest import ADMIN_TOKEN, BASE, WebFactory, events

# Customers' rewordings of nine support questions per language (topic -> rewordings): SAME_TERMS is
# measured on them (`test_terms_threshold_keeps_different_questions_apart`).
REWORDINGS: dict[str, dict[str, list[str]]] = {
    "zh": {
        "lost": ["我的包裹丢了怎么办？", "包裹丢失了怎么处理", "我的包裹不見了怎麼辦？"],
        "address": ["怎么修改收货地址", "如何更改收货地址？", "收货地址填错了怎么改"],
        "invoice": ["发票在哪里下载", "怎么下载发票？", "在哪里可以下载电子发票"],
        "refund": ["退款多久能到账？", "退款要多长时间到账", "退款什么时候到账"],
        "password": ["忘记密码了怎么办", "密码忘了怎么重置？", "怎么重置密码"],
        "locker": ["快递柜打不开怎么办", "快递柜的门打不开", "快递柜取件码无效"],
        "cancel": ["怎么取消订单？", "订单可以取消吗", "我想取消我的订单"],
        "email": ["怎么修改邮箱地址", "如何更改绑定的邮箱"],
        "track": ["怎么查询物流信息？", "我的快递到哪了", "如何跟踪我的包裹"],
    },
    "fr": {
        "lost": [
            "Mon colis est perdu, que faire ?",
            "J'ai perdu mon colis",
            "Colis perdu, que dois-je faire ?",
        ],
        "address": [
            "Comment changer mon adresse de livraison ?",
            "Je veux modifier l'adresse de livraison",
            "Changer l'adresse de livraison de ma commande",
        ],
        "invoice": [
            "Où télécharger ma facture ?",
            "Comment télécharger une facture ?",
            "Je ne trouve pas ma facture à télécharger",
        ],
        "refund": [
            "Combien de temps prend le remboursement ?",
            "Quand vais-je être remboursé ?",
            "Délai de remboursement ?",
        ],
        "password": [
            "J'ai oublié mon mot de passe",
            "Comment réinitialiser mon mot de passe ?",
            "Mot de passe oublié",
        ],
        "locker": [
            "La porte du casier ne s'ouvre pas",
            "Le casier ne s'ouvre pas",
            "Je n'arrive pas à ouvrir le casier",
        ],
        "cancel": ["Comment annuler ma commande ?", "Je veux annuler une commande", "Annulation de commande"],
        "email": ["Comment changer mon adresse e-mail ?", "Modifier mon adresse email"],
        "track": ["Comment suivre mon colis ?", "Où en est mon colis ?", "Suivi de colis"],
    },
    "de": {
        "lost": [
            "Mein Paket ist verloren gegangen",
            "Paket verloren, was tun?",
            "Was mache ich, wenn mein Paket verloren ist?",
        ],
        "address": [
            "Wie ändere ich meine Lieferadresse?",
            "Lieferadresse ändern",
            "Kann ich die Lieferadresse meiner Bestellung ändern?",
        ],
        "invoice": [
            "Wo kann ich meine Rechnung herunterladen?",
            "Rechnung herunterladen",
            "Wie lade ich die Rechnung herunter?",
        ],
        "refund": [
            "Wie lange dauert die Rückerstattung?",
            "Wann bekomme ich mein Geld zurück?",
            "Dauer der Rückerstattung",
        ],
        "password": [
            "Ich habe mein Passwort vergessen",
            "Passwort zurücksetzen",
            "Wie setze ich mein Passwort zurück?",
        ],
        "locker": [
            "Die Tür des Schließfachs geht nicht auf",
            "Schließfach öffnet sich nicht",
            "Ich kann das Schließfach nicht öffnen",
        ],
        "cancel": [
            "Wie storniere ich meine Bestellung?",
            "Bestellung stornieren",
            "Kann ich meine Bestellung stornieren?",
        ],
        "email": ["Wie ändere ich meine E-Mail-Adresse?", "E-Mail-Adresse ändern"],
        "track": ["Wie verfolge ich mein Paket?", "Wo ist mein Paket?", "Sendungsverfolgung für mein Paket"],
    },
}

_WORD = re.compile(r"\w+")


class EnglishVocabularyEmbedder(FakeEmbedder):
    """An English model's view of other scripts: a word outside its (ASCII) vocabulary is one unknown token,
    so unrelated Chinese questions come out alike, as all-MiniLM-L6-v2's cosines of 0.41-1.00 between
    different Chinese support questions do."""

    def embed(self, texts: Sequence[str]) -> npt.NDArray[np.float32]:
        known = [_WORD.sub(lambda m: m.group() if m.group().isascii() else "unk", t) for t in texts]
        return super().embed(known)


def gap(n: int, text: str) -> GapQuestion:
    return GapQuestion(n, n, text, "refused", None, None, "", "", datetime.now(UTC))


def gaps(*texts: str) -> list[GapQuestion]:
    # Newest first, as the log lists them: the first has the highest answer id (ties: newest group first).
    return [gap(len(texts) - i, text) for i, text in enumerate(texts)]


def grouped(groups: Sequence[GapGroup]) -> list[list[str]]:
    return [[q.question for q in g.questions] for g in groups]


def jaccard(a: frozenset[str], b: frozenset[str]) -> float:
    return len(a & b) / len(a | b)


def test_terms_threshold_keeps_different_questions_apart() -> None:
    for lang, topics in REWORDINGS.items():
        asked = [(topic, text) for topic, texts in topics.items() for text in texts]
        same: list[float] = []
        different: list[float] = []
        for (ta, a), (tb, b) in itertools.combinations(asked, 2):
            sim = jaccard(question_terms(a, lang), question_terms(b, lang))
            (same if ta == tb else different).append(sim)
        assert (len(same), len(different)) == (25, 300)
        assert max(different) < SAME_TERMS, (lang, sorted(different)[-3:])
        merged = sum(sim >= SAME_TERMS for sim in same)
        assert merged >= 7, (lang, sorted(same))  # the close rewordings group (10, 13, 7 when measured)


def test_unrelated_chinese_questions_stay_apart() -> None:
    questions = gaps("我的包裹丢了怎么办？", "怎么修改收货地址", "发票在哪里下载", "怎么修改邮箱地址")
    groups = group_gaps(questions, EnglishVocabularyEmbedder())
    assert [g.count for g in groups] == [1, 1, 1, 1]


def test_chinese_rewordings_group() -> None:
    questions = gaps(
        "退款多久能到账？",
        "怎么取消订单？",
        "退款什么时候到账",
        "我想取消我的订单",
        "怎麼取消訂單？",
        "发票在哪里下载",
    )
    groups = group_gaps(questions, EnglishVocabularyEmbedder())
    assert grouped(groups) == [
        ["怎么取消订单？", "我想取消我的订单", "怎麼取消訂單？"],  # Traditional is read as Simplified
        ["退款多久能到账？", "退款什么时候到账"],
        ["发票在哪里下载"],
    ]


def test_french_and_german_rewordings_group() -> None:
    french = gaps(
        "Je veux annuler ma commande",
        "Mon colis est perdu, que faire ?",
        "Je voudrais annuler une commande",
        "J'ai perdu mon colis",
        "Où en est mon colis ?",
    )
    assert grouped(group_gaps(french, EnglishVocabularyEmbedder())) == [
        ["Je veux annuler ma commande", "Je voudrais annuler une commande"],
        ["Mon colis est perdu, que faire ?", "J'ai perdu mon colis"],
        ["Où en est mon colis ?"],  # shares only "colis" with the lost parcel: 0.5
    ]
    german = gaps(
        "Wo kann ich meine Rechnung herunterladen?",
        "Wie storniere ich meine Bestellung?",
        "Rechnung herunterladen",
        "Kann ich meine Bestellung stornieren?",
    )
    assert grouped(group_gaps(german, EnglishVocabularyEmbedder())) == [
        ["Wo kann ich meine Rechnung herunterladen?", "Rechnung herunterladen"],
        ["Wie storniere ich meine Bestellung?", "Kann ich meine Bestellung stornieren?"],
    ]


def test_english_and_chinese_questions_never_group() -> None:
    questions = gaps("Apple Pay refund", "Apple Pay 退款")
    assert [g.count for g in group_gaps(questions, EnglishVocabularyEmbedder())] == [1, 1]
    # Not even with an embedder trusted in both languages.
    both = group_gaps(questions, EnglishVocabularyEmbedder(), cosine={"en", "zh"}, terms_threshold=0.0)
    assert [g.count for g in both] == [1, 1]


def test_english_groups_by_cosine_as_before() -> None:
    questions = gaps(
        "how do I get my money back", "refund time", "how do I get my parcel back", "refund time please"
    )
    groups = group_gaps(questions, FakeEmbedder())
    # The cosine, not the words (the first two share half of theirs), groups English, as before.
    assert grouped(groups) == [
        ["how do I get my money back", "how do I get my parcel back"],
        ["refund time", "refund time please"],
    ]


def test_the_language_the_question_was_read_in_decides_its_group() -> None:
    # Alone, "track my parcel" reads as French; logged with the customer's English, it is English.
    assert question_language("track my parcel") != "en"
    logged = [
        replace(gap(2, "track my parcel"), language="en"),
        replace(gap(1, "track my parcels"), language="en"),
    ]
    assert [g.count for g in group_gaps(logged, FakeEmbedder())] == [2]
    # A message logged before languages were kept is detected, as before.
    assert replace(gap(1, "x"), language="und").language == "und"
    unknown = [gap(2, "track my parcel"), replace(gap(1, "track my parcels"), language="en")]
    assert [g.count for g in group_gaps(unknown, FakeEmbedder())] == [1, 1]


async def test_gap_questions_carry_the_language_they_were_read_in(make_web: WebFactory) -> None:
    web = await make_web()
    session = await web.session()
    reply = events(
        (await web.post("/api/ask", {"text": "Que faire si mon colis est perdu ?"}, session["csrf"])).text
    )
    assert reply[-1][1]["outcome"] == "refused"
    found = await web.deps.insights.gap_questions(30, 10)
    assert [q.language for q in found] == ["fr"]


def fit(lang: str, dense_weight: float) -> LanguageFit:
    return LanguageFit(lang, 40, 0.5, 0.8, dense_weight, True)


def test_cosine_languages_follow_the_calibration() -> None:
    assert cosine_languages(None) == {"en"}
    assert cosine_languages(Calibration()) == {"en"}
    calibration = Calibration(languages=(fit("en", 0.7), fit("fr", 0.53), fit("zh", 0.0), fit("de", 0.7)))
    assert cosine_languages(calibration) == {"en", "de"}


async def test_console_groups_by_cosine_where_the_calibration_trusts_the_embedder(
    make_web: WebFactory,
) -> None:
    web = await make_web()
    for text in ("Que faire si mon colis est perdu ?", "Que faire si mon colis est en retard ?"):
        session = await web.session()
        reply = events((await web.post("/api/ask", {"text": text}, session["csrf"])).text)[-1][1]
        assert reply["outcome"] == "refused"
    app = build_app(replace(web.deps, embedder=lambda: contextlib.nullcontext(FakeEmbedder())))
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url=BASE) as client:
        await client.post("/admin/login", data={"token": ADMIN_TOKEN}, headers={"origin": BASE})
        # French unmeasured: grouped by words, which the two share only "colis" and "si" of.
        page = (await client.get("/admin/gaps")).text
        assert page.count("<section class='gap'>") == 2
        # French found as strong as English: the cosine (0.80 with the fake embedder) groups them.
        kb = web.deps.admin.kb
        assert isinstance(kb, FakeKB)
        kb.gate = Calibration(languages=(fit("en", 0.7), fit("fr", 0.7)))
        page = (await client.get("/admin/gaps")).text
        assert page.count("<section class='gap'>") == 1, page


async def test_console_groups_gaps_when_the_calibration_cannot_be_read(
    make_web: WebFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    web = await make_web()
    for text in ("Que faire si mon colis est perdu ?", "Que faire si mon colis est en retard ?"):
        session = await web.session()
        await web.post("/api/ask", {"text": text}, session["csrf"])

    async def unavailable() -> Calibration:
        raise KBUnavailableError("the knowledge base has not been built yet")

    monkeypatch.setattr(web.deps.admin.kb, "calibration", unavailable)
    app = build_app(replace(web.deps, embedder=lambda: contextlib.nullcontext(FakeEmbedder())))
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url=BASE) as client:
        await client.post("/admin/login", data={"token": ADMIN_TOKEN}, headers={"origin": BASE})
        response = await client.get("/admin/gaps")
    assert response.status_code == 200
    # Only English is trusted to the cosine then: the French questions group by their words.
    assert response.text.count("<section class='gap'>") == 2
