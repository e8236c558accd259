"""What counts as a refusal: the model's "I don't know" (prompt rule 3) or the bot's fixed refusal text."""

from __future__ import annotations

import re

# One list of the ways a model says the passages do not answer (rule 3 asks for exactly "I don't know."),
# plus the phrases of the bot's own REFUSAL_TEXT, so a refusal is recognised the same way everywhere.
_APOSTROPHE = "['’]?"
_PHRASES = (
    rf"i\s+(?:do\s+not|don{_APOSTROPHE}t)\s+know"
    rf"|i{_APOSTROPHE}m\s+not\s+sure"
    rf"|i\s+(?:cannot|can{_APOSTROPHE}t)\s+(?:answer|find|help)"
    rf"|(?:the\s+)?passages?\s+(?:do(?:es)?\s+not|do(?:es)?n{_APOSTROPHE}t)\s+(?:answer|contain|say|mention)"
    rf"|i\s+(?:couldn{_APOSTROPHE}t|could\s+not)\s+find"
    rf"|i{_APOSTROPHE}d\s+rather\s+not\s+guess"
    # "I don't know." in the languages the bot answers in: a question in one of them gets the prompt's rule to
    # answer in it, and a model that refuses then says so in that language (as the synthetic training data's
    # refusals for such questions do, `bot.train.synth`). "No se …" ("it cannot …") is no refusal: "sé" only.
    r"|我不知道|(?:わか|分か)りません|(?:잘\s+)?모르겠습니다"
    r"|ich\s+wei(?:ß|ss)\s+es\s+nicht|je\s+ne\s+(?:le\s+)?sais\s+pas|no\s+lo\s+s[ée]\b|no\s+sé\b"
    r"|non\s+lo\s+so\b|n[ãa]o\s+sei\b|ik\s+weet\s+het\s+niet|я\s+не\s+знаю"
)
_OPENS_WITH = re.compile(rf"^\W*(?:{_PHRASES})", re.IGNORECASE)
_ANYWHERE = re.compile(rf"\b(?:{_PHRASES})", re.IGNORECASE)


def opens_with_refusal(text: str) -> bool:
    """The text starts by refusing: the pipeline then shows the fixed refusal instead of the model's words."""
    return _OPENS_WITH.match(text) is not None


def is_refusal(text: str) -> bool:
    """The text refuses anywhere in it (a model's answer, a reference answer, or the bot's refusal)."""
    return _ANYWHERE.search(text) is not None
