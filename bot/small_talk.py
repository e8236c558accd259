"""Messages that are only a greeting, thanks, goodbye or "ok" (shipped languages): nothing to look up."""

from __future__ import annotations

import re
from typing import Literal

SmallTalk = Literal["greeting", "thanks", "goodbye", "ok"]

# Whole phrases, lower-cased, as customers type them. A message is small talk only when these (and the
# fillers below) make up all of it: "hi, where is my parcel?" is a question.
_PHRASE_TEXT: dict[SmallTalk, str] = {
    "greeting": "hi|hello|hey|hiya|howdy|greetings|good morning|good afternoon|good evening"
    "|morning|evening|yo|hallo|guten morgen|guten tag|guten abend|servus|moin|grüß gott|grüezi"
    "|bonjour|salut|bonsoir|coucou|hola|buenos días|buenos dias|buenas tardes|buenas noches"
    "|buenas|привет|здравствуйте|здравствуй|добрый день|доброе утро|добрый вечер"
    "|你好|您好|嗨|哈喽|早上好|下午好|晚上好|早|在吗|在么",
    "thanks": "thanks|thank you|thx|ty|cheers|many thanks|thanks a lot|thank you very much"
    "|thank you so much|thanks so much|much appreciated|appreciated|danke|danke schön"
    "|dankeschön|vielen dank|danke sehr|merci|merci beaucoup|merci bien|gracias"
    "|muchas gracias|mil gracias|спасибо|большое спасибо|спс"
    "|谢谢|谢谢你|谢谢您|多谢|感谢|非常感谢|谢了",
    "goodbye": "bye|goodbye|bye bye|see you|see ya|have a nice day|tschüss|tschüs"
    "|auf wiedersehen|ciao|au revoir|bonne journée|bonne journee|adiós|adios|hasta luego"
    "|пока|до свидания|再见|拜拜",
    "ok": "ok|okay|k|alright|all right|got it|i see|great|perfect|cool|nice|good|d'accord"
    "|dacord|genau|gut|super|vale|bien|bueno|понятно|хорошо|ок"
    "|好的|好|明白|知道了|嗯|行",
}
_PHRASES = {kind: tuple(p.strip() for p in text.split("|")) for kind, text in _PHRASE_TEXT.items()}
# Words that may come along without changing what the message is ("thanks again", "hi there", "ok bot").
_FILLERS_TEXT = "a again all bot guys team there so much very you lot really oh ah and then ja oui si sí да"
_FILLERS_TEXT += " 啊 呀 的 了"
_FILLERS = frozenset(_FILLERS_TEXT.split())
# When several kinds meet ("ok thanks bye"), the reply answers the strongest.
_PRIORITY: tuple[SmallTalk, ...] = ("thanks", "goodbye", "greeting", "ok")
_PUNCTUATION = re.compile(r"[^\w\s']+", re.UNICODE)
_CJK = re.compile(r"[\u3040-\u30ff\u3400-\u9fff\uac00-\ud7af]")
MAX_CHARS = 60


def _phrase_words() -> dict[tuple[str, ...], SmallTalk]:
    return {tuple(phrase.split()): kind for kind, phrases in _PHRASES.items() for phrase in phrases}


_BY_WORDS = _phrase_words()
_LONGEST = max(len(words) for words in _BY_WORDS)


def small_talk(text: str) -> SmallTalk | None:
    """What `text` is when it holds nothing to look up (a greeting, thanks, goodbye or "ok"), else None."""
    if len(text) > MAX_CHARS:
        return None
    # Emoji and punctuation go ("Thanks!! 🙏"); CJK characters are words of their own here.
    cleaned = _PUNCTUATION.sub(" ", text.casefold().replace("’", "'"))
    cleaned = _CJK.sub(lambda m: f" {m.group()} ", cleaned)
    words = cleaned.split()
    if not words:
        return None
    # CJK phrases were split into characters above: join runs of CJK characters back for matching.
    tokens: list[str] = []
    for word in words:
        if tokens and _CJK.fullmatch(word) and _CJK.match(tokens[-1][-1]):
            tokens[-1] += word
        else:
            tokens.append(word)
    found: set[SmallTalk] = set()
    i = 0
    while i < len(tokens):
        for size in range(min(_LONGEST, len(tokens) - i), 0, -1):
            kind = _BY_WORDS.get(tuple(tokens[i : i + size]))
            if kind is not None:
                found.add(kind)
                i += size
                break
        else:
            if tokens[i] not in _FILLERS and not _cjk_small_talk(tokens[i], found):
                return None
            i += 1
    return next((kind for kind in _PRIORITY if kind in found), None)


def _cjk_small_talk(run: str, found: set[SmallTalk]) -> bool:
    """A run of CJK characters made only of small-talk phrases and fillers ("你好啊", "好的谢谢")."""
    if not _CJK.match(run):
        return False
    kinds: set[SmallTalk] = set()
    i = 0
    while i < len(run):
        for size in range(min(4, len(run) - i), 0, -1):
            piece = run[i : i + size]
            kind = _BY_WORDS.get((piece,))
            if kind is not None:
                kinds.add(kind)
                i += size
                break
            if size == 1 and piece in _FILLERS:
                i += 1
                break
        else:
            return False
    found |= kinds
    return bool(kinds)
