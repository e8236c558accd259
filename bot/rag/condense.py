"""Turns a follow-up into a standalone search query, in code (no model call), only when there is history."""

from __future__ import annotations

import re
from collections.abc import Sequence

from bot.domain import Turn
from bot.kb.analysis import analyzer, question_language
from bot.language import UNDETERMINED

_WORD = re.compile(r"[\w']+", re.UNICODE)
# Words that point back at something said before: "how do I install it", "what about that one", "Wie lange
# dauert das?", "Combien ça coûte ?", "那个多少钱？". Only words that are nothing else: French "le", "la",
# "en", "y" are also articles and prepositions, and German "es" is Spanish "is" ("Comment changer la
# langue ?" and "¿Qué es Parcelly Plus?" stand on their own).
_ANAPHORA_LINES = (
    "it its it's that this these those they them their there he she him her one ones same such",
    "das dies diese dieser dieses dort dafür damit davon darauf",
    "ça cela ceci celui celle ceux celles",
    "eso esto ese esa ello allí",
    "isso isto esse essa nisso disso desse dessa nesse nessa lá",
    "questo quello quella",
    "это этот эта эти то тот та там он она они его её их",
)
_ANAPHORA = frozenset(word for line in _ANAPHORA_LINES for word in line.split())
# Chinese and Japanese pointing words, at the start of the question ("这个多少钱？", "那退款呢？").
_CJK_ANAPHORA = ("这", "那", "它", "それ", "これ", "あれ", "その", "この")
# "What about Belgium?", "and for business accounts?" ask the previous question again about something else,
# whatever they name. "And", "but", "so" alone only join: "and how do I file a claim?" names its own topic
# (searched with the previous question, "Is my parcel insured?", it was answered from the insurance FAQ).
# "And what if I paid by PayPal?" after "How long does a refund take?" asks it again for another case.
_ASKS_AGAIN = (
    *("what about", "how about", "and what about", "and how about"),
    *("and for ", "and in ", "and on ", "and to ", "and with ", "or for ", "or in "),
    *("and what if ", "but what if ", "and if ", "but if "),
    *(
        "et si ",
        "et pour ",
        "mais si ",
        "y si ",
        "y para ",
        "¿y si ",
        "¿y para ",
        "pero si ",
        "¿y qué pasa si ",
    ),
    *("und wenn ", "und für ", "aber wenn ", "а если ", "а для ", "и если "),
    # Portuguese: "e se for no fim de semana?" after a question on the Pix limit at night.
    *("e se ", "mas e se ", "mas se ", "e para ", "e pra ", "e no ", "e na ", "e nos ", "e nas ", "e em "),
    # Italian ("e se " above too): "e per i resi internazionali?" after a question on the returns window was
    # searched alone.
    *("e per ", "ma se ", "e invece ", "e nel ", "e nella ", "e nei ", "e nelle ", "e in ", "e con "),
)
# A question with fewer content words than this (stop words aside) names no topic of its own: "how long?",
# "in Belgium?", "那退款呢？". Counting all words instead (four or fewer meant a follow-up) took "what is
# Parcelly Plus" for one, and every Chinese question written without spaces.
MIN_TOPIC_WORDS = 2
# A question that points back with a pronoun but names more content words than this has a topic of its own:
# "how much does it cost to send a small parcel?" (its "it" is no reference) was searched together with the
# previous question about a locker door, and answered with how to close it. "Can I get a refund for it?"
# (two) and "how do I delete my account and all data on it?" (three) still point back.
MAX_POINTING_WORDS = 3


def needs_context(question: str, lang: str | None = None) -> bool:
    """A follow-up that cannot be searched on its own: asks the previous question again ("what about…"),
    points back with a pronoun and names at most `MAX_POINTING_WORDS` content words, or has fewer than
    `MIN_TOPIC_WORDS` content words in its language (`lang`; None: detected)."""
    text = question.strip().lower()
    words = _WORD.findall(text)
    if not words:
        return False
    if text.startswith(_ASKS_AGAIN):
        return True
    if text.startswith(_CJK_ANAPHORA):
        return True
    language = lang if lang and lang != UNDETERMINED else question_language(question)
    topic = len(analyzer(language).words(question))
    if any(word in _ANAPHORA for word in words):
        return topic <= MAX_POINTING_WORDS
    return topic < MIN_TOPIC_WORDS


_CJK = re.compile(r"[\u3040-\u30ff\u3400-\u9fff\uac00-\ud7af\uf900-\ufaff]")
_CJK_RUN = re.compile(f"(?:{_CJK.pattern})+")
_OTHER_WORD = re.compile(r"[^\W\d_]+")


def _written_in_cjk(text: str) -> bool:
    """Whether `text` is mostly Chinese, Japanese or Korean: its CJK words (a run of CJK characters counts as
    one per two characters, a word's usual length) outnumber its other words. Counted by letters, "那 Android
    呢？" ("and on Android?") after a Chinese question read as a question in another script, asked afresh and
    refused; counted by characters, "what about 微信支付?" read as Chinese."""
    cjk = sum((len(run) + 1) // 2 for run in _CJK_RUN.findall(text))
    others = len(_OTHER_WORD.findall(_CJK.sub(" ", text)))
    return cjk > 0 and cjk > others


def condense(question: str, history: Sequence[Turn], lang: str | None = None) -> str:
    """The query to search for.

    A small model rewriting the question would cost a whole generation (and evict the KV cache the answer
    reuses), so this stays in code: a self-contained question is searched as is; a dependent follow-up is
    searched together with the user's previous question, which names the topic the pronoun points to.
    """
    question = question.strip()
    if not history or not needs_context(question, lang):
        return question
    previous = next((t.text.strip() for t in reversed(history) if t.role == "user" and t.text.strip()), "")
    if not previous or _written_in_cjk(previous) != _written_in_cjk(question):
        # A question in another script asks afresh: "Can I send a powerbank on its own?" after a Chinese
        # question was searched with it, and its "powerbank" read as a Latin name in Chinese text (refused).
        return question
    return f"{previous} {question}"
