"""Messages that are only a greeting, thanks, goodbye or "ok" (shipped languages): nothing to look up."""

from __future__ import annotations

import re
from typing import Literal

from bot.chinese import to_simplified
from bot.unicode import has_words

SmallTalk = Literal["greeting", "thanks", "goodbye", "ok"]

# Whole phrases, lower-cased, as customers type them. A message is small talk only when these (and the
# fillers below) make up all of it: "hi, where is my parcel?" is a question.
_PHRASE_TEXT: dict[SmallTalk, str] = {
    "greeting": "hi|hello|hey|hiya|howdy|greetings|good morning|good afternoon|good evening"
    "|how are you|how are you doing|how's it going|how is it going|what's up|wie geht's|wie gehts"
    "|wie geht es dir|wie geht es ihnen|ça va|ca va|comment ça va|comment allez-vous|qué tal|que tal"
    "|cómo estás|como estas|как дела|как ты|你好吗|您好吗|最近怎么样|お元気ですか|元気ですか"
    "|morning|evening|yo|hallo|guten morgen|guten tag|guten abend|servus|moin|grüß gott|grüezi"
    "|bonjour|salut|bonsoir|coucou|hola|buenos días|buenos dias|buenas tardes|buenas noches"
    "|buenas|привет|здравствуйте|здравствуй|добрый день|доброе утро|добрый вечер"
    "|你好|您好|嗨|哈喽|早上好|下午好|晚上好|早|在吗|在么"
    "|こんにちは|こんばんは|おはよう|おはようございます",
    "thanks": "thanks|thank you|thx|ty|cheers|many thanks|thanks a lot|thank you very much"
    "|thank you so much|thanks so much|much appreciated|appreciated|danke|danke schön"
    "|dankeschön|vielen dank|danke sehr|merci|merci beaucoup|merci bien|gracias"
    "|muchas gracias|mil gracias|спасибо|большое спасибо|спс"
    "|谢谢|谢谢你|谢谢您|多谢|感谢|非常感谢|谢了"
    "|ありがとう|ありがとうございます|ありがとうございました|どうも",
    # Declining more help ("No, thanks", the answer to "anything else?") ends the chat as a goodbye does; a
    # bare "no" is left out, since it may mean "no, that did not help".
    "goodbye": "bye|goodbye|bye bye|see you|see ya|have a nice day|tschüss|tschüs"
    "|auf wiedersehen|ciao|au revoir|bonne journée|bonne journee|adiós|adios|hasta luego"
    "|пока|до свидания|再见|拜拜|さようなら|またね"
    "|no thanks|no thank you|no thx|nope thanks|that's all|that is all|that's it|nothing else|i'm good"
    "|im good|all good|nein danke|nichts weiter|non merci|c'est tout|no gracias|eso es todo|нет спасибо"
    "|больше ничего|不用了|不用|没有了|没事了|大丈夫です|結構です",
    "ok": "ok|okay|k|alright|all right|got it|i see|great|perfect|cool|nice|good|d'accord"
    "|dacord|genau|gut|super|vale|bien|bueno|понятно|хорошо|ок"
    "|好的|好|明白|知道了|嗯|行|はい|了解|了解です|わかりました|分かりました",
}
# Each phrase as its words: "thank you" is ("thank", "you"); a CJK phrase is one word ("谢谢",).
_BY_WORDS = {tuple(p.split()): kind for kind, text in _PHRASE_TEXT.items() for p in text.split("|")}
# Words that may come along without changing what the message is ("thanks again", "hi there", "ok bot").
_FILLERS_TEXT = "a again all bot guys team there so much very you lot really oh ah and then ja oui si sí да"
_FILLERS_TEXT += " 啊 呀 的 了"
_FILLERS = frozenset(_FILLERS_TEXT.split())
# When several kinds meet ("ok thanks bye"), the reply answers the strongest.
_PRIORITY: tuple[SmallTalk, ...] = ("thanks", "goodbye", "greeting", "ok")
_PUNCTUATION = re.compile(r"[^\w\s']+", re.UNICODE)
_CJK_CHARS = "\u3040-\u30ff\u3400-\u9fff\uac00-\ud7af"
_CJK = re.compile(f"[{_CJK_CHARS}]")
# Runs of CJK characters and other words, apart: "ok谢谢" is "ok", "谢谢".
_TOKEN = re.compile(f"[{_CJK_CHARS}]+|[^\\s{_CJK_CHARS}]+")
MAX_CHARS = 60
_LONGEST_WORDS = max(len(words) for words in _BY_WORDS)
_LONGEST_CJK = max(len(words[0]) for words in _BY_WORDS if _CJK.match(words[0]))


def small_talk(text: str) -> SmallTalk | None:
    """What `text` is when it holds nothing to look up (a greeting, thanks, goodbye or "ok"), else None.

    A message of emoji or symbols only ("👍", "🙏🙏", "😀😀🙏") is an "ok": looked up, it was refused and
    handed the customer to a person."""
    if text.strip() and not has_words(text):
        return "ok"
    if len(text) > MAX_CHARS:
        return None
    # Traditional characters as Simplified: 謝謝 is 谢谢 (the phrases are written once).
    text = to_simplified(text, words=False)
    # Emoji and punctuation go ("Thanks!! 🙏").
    tokens = _TOKEN.findall(_PUNCTUATION.sub(" ", text.casefold().replace("’", "'")))
    found = _kinds(tokens, cjk=False) if tokens else None
    return next((kind for kind in _PRIORITY if kind in found), None) if found else None


def _kinds(units: list[str], *, cjk: bool) -> set[SmallTalk] | None:
    """The kinds of small talk `units` are made of, longest phrases first, fillers allowed; None when
    something else is in them. Units are words or, inside a CJK run (`cjk`), its characters."""
    found: set[SmallTalk] = set()
    i = 0
    while i < len(units):
        for size in range(min(_LONGEST_CJK if cjk else _LONGEST_WORDS, len(units) - i), 0, -1):
            piece = units[i : i + size]
            kind = _BY_WORDS.get(("".join(piece),) if cjk else tuple(piece))
            if kind is not None:
                found.add(kind)
                i += size
                break
        else:
            unit = units[i]
            # A CJK run that is not one phrase may be several with fillers ("你好啊", "好的谢谢").
            inner = _kinds(list(unit), cjk=True) if not cjk and _CJK.match(unit) else None
            if inner:
                found |= inner
            elif unit not in _FILLERS:
                return None
            i += 1
    return found


# -- asking for a person ---------------------------------------------------------------------------------

# "I want to talk to a person", "human", "can I speak to an agent?": the customer wants what the "Talk to a
# human" button does, and looked up the message was refused as a question the help center does not answer
# (before the handoff that followed). English as a pattern (lead words, a verb, whom), the other shipped
# languages as whole phrases; all only as the whole message, so "how do I tell the courier to wait?" stays a
# question.
_WHOM = (
    r"(?:a\s+|an\s+|some\s+|your\s+|the\s+)?(?:real\s+|live\s+|actual\s+)?"
    r"(?:human|humans|person|agent|operator|somebody|someone|representative|rep|staff|employee"
    r"|support agent|customer service|customer support|support team)(?:\s+being)?"
)
_PERSON_EN = re.compile(
    r"(?:(?:hi|hello|hey|please|pls|plz|ok|so|can|could|may|i|we|want|wanna|would|like|to|need|let|me|how"
    r"|do|you|just|i'd|id|i'm|im)\s+)*"
    rf"(?:(?:talk|speak|chat|connect|get|put|transfer)\s+(?:me\s+)?(?:to\s+|with\s+|through\s+to\s+)?{_WHOM}"
    r"|(?:a\s+|real\s+|live\s+)*(?:human|agent|operator|real person|live agent|representative))"
    r"(?:\s+(?:please|pls|plz|now|asap|thanks|thank you|instead|not a bot|not the bot))*"
)
_PERSON_TEXT = (
    "mensch|einen menschen|echter mensch|mit einem menschen sprechen|ich möchte mit einem menschen sprechen"
    "|mitarbeiter|mit einem mitarbeiter sprechen|ich möchte mit einem mitarbeiter sprechen"
    "|humain|un humain|une vraie personne|parler à un humain|je veux parler à un humain"
    "|parler à quelqu'un|je veux parler à quelqu'un|un conseiller|parler à un conseiller"
    "|je veux parler à un conseiller|humano|un humano|persona real|hablar con una persona"
    "|quiero hablar con una persona|hablar con un humano|quiero hablar con un humano|un agente"
    "|hablar con un agente|quiero hablar con un agente|оператор|оператора|позовите оператора"
    "|живой человек|соедините с оператором|поговорить с человеком|хочу поговорить с человеком"
    "|人工|转人工|人工客服|真人|找人工|我要人工|人工服务|我要找人工|转人工客服|找真人|我要真人"
    "|我想和真人说话|オペレーター|人と話したい|担当者|オペレーターと話したい|担当者と話したい|人間と話したい"
)
# Compared as Simplified Chinese characters, as the message is (Japanese 話 too: 话).
_PERSON_PHRASES = frozenset(to_simplified(phrase, words=False) for phrase in _PERSON_TEXT.split("|"))
_PERSON_TAIL = re.compile(r"(?:\s+(?:bitte|s'il vous plaît|svp|por favor|пожалуйста|请|谢谢|お願いします))+$")


def asks_for_person(text: str) -> bool:
    """Whether the whole message asks for a person from the support team (see `_PERSON_EN`)."""
    if len(text) > MAX_CHARS or not has_words(text):
        return False
    text = to_simplified(text, words=False)
    normalized = " ".join(_TOKEN.findall(_PUNCTUATION.sub(" ", text.casefold().replace("’", "'"))))
    if _PERSON_EN.fullmatch(normalized):
        return True
    return _PERSON_TAIL.sub("", normalized).removeprefix("请").strip() in _PERSON_PHRASES
