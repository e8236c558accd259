"""Fixed user-facing texts of the conversation service (plain text), and their gettext translations."""

from __future__ import annotations

import gettext
import re
from functools import cache
from pathlib import Path

from bot.chinese import TRADITIONAL, to_simplified, to_traditional
from bot.language import LANGUAGE_NAMES, language_tag, normalize


def N_(message: str) -> str:  # noqa: N802 - the gettext marker name extraction looks for
    """Mark a fixed text for extraction into the catalogs; translated where it is shown (`translate`)."""
    return message


# English is the source language: the msgids are the English texts. Every other language ships a catalog
# under bot/locales/<catalog>/LC_MESSAGES/messages.po (and .mo); tests/core/test_i18n.py checks each one
# translates every text.
SOURCE_LANGUAGE = "en"
# Chinese in Traditional script ("zh-Hant", `bot.language.language_tag`) has its own catalog.
LANGUAGES: tuple[str, ...] = (
    "en",
    "zh",
    "zh-Hant",
    "ja",
    "ko",
    "de",
    "fr",
    "es",
    "it",
    "nl",
    "pt",
    "ru",
    "id",
    "tr",
    "vi",
    "th",
    "hi",
    "ar",
    "fa",
    "el",
    "uk",
    "he",
    "cs",
    "sv",
    "hu",
    "pl",
)
CATALOGS: dict[str, str] = {
    "zh": "zh_Hans",
    "zh-Hant": "zh_Hant",
    "ja": "ja",
    "ko": "ko",
    "de": "de",
    "fr": "fr",
    "es": "es",
    "it": "it",
    "nl": "nl",
    "pt": "pt",
    "ru": "ru",
    "id": "id",
    "tr": "tr",
    "vi": "vi",
    "th": "th",
    "hi": "hi",
    "ar": "ar",
    "fa": "fa",
    "el": "el",
    "uk": "uk",
    "he": "he",
    "cs": "cs",
    "sv": "sv",
    "hu": "hu",
    "pl": "pl",
}
LOCALE_DIR = Path(__file__).with_name("locales")
DOMAIN = "messages"


def shown_language(language: str) -> str:
    """The language fixed texts are shown in for a detected one: itself when shipped, else English."""
    code = language_tag(language)
    return code if code in LANGUAGES else SOURCE_LANGUAGE


# The shipped languages written right to left: a page or a widget whose own texts are in one is laid out
# right to left (`direction`).
RIGHT_TO_LEFT = frozenset({"ar", "fa", "he"})


def direction(language: str) -> str:
    """The direction fixed texts in `language` are laid out in: "rtl" for Arabic, Persian and Hebrew
    (`RIGHT_TO_LEFT`), else "ltr" (English stands in for a language without a catalog, Urdu among them)."""
    return "rtl" if shown_language(language) in RIGHT_TO_LEFT else "ltr"


@cache
def translation(language: str) -> gettext.NullTranslations:
    """The compiled catalog of a shipped language (English and anything unknown: the texts as written)."""
    code = shown_language(language)
    if code == SOURCE_LANGUAGE:
        return gettext.NullTranslations()
    return gettext.translation(DOMAIN, localedir=LOCALE_DIR, languages=[CATALOGS[code]])


def translate(message: str, language: str) -> str:
    """`message` (an English text marked with `N_`) in `language`; English when it has no translation."""
    return translation(language).gettext(message)


NEW_CONVERSATION = N_("Started a new conversation. What can I help you with?")
ERROR = N_("Sorry, something went wrong on my side. Please try again in a moment.")
DB_DOWN = N_("Sorry, I can't take messages right now. Please try again in a few minutes.")
NOT_ALLOWED = N_("Sorry, you're not allowed to do that.")

HANDOFF_REQUESTED = N_(
    "I've asked a person from our support team to join. They'll reply right here. "
    "Send /new if you'd rather continue with me."
)
HANDOFF_AFTER_REFUSAL = N_(
    "I've passed your question to a person from our support team; they'll reply right here."
)
HANDOFF_ALREADY = N_("A person from our support team has already been asked and will reply here.")
HANDOFF_UNAVAILABLE = N_(
    "Sorry, nobody from our team is available in this chat right now. Please try again later."
)
# With nobody to hand over to, the help center's own way to reach a person is searched for with these
# questions in turn (in the customer's language) and shown under `HANDOFF_UNAVAILABLE`, after `CONTACT_LEAD`.
# The second for help centers whose contact page leads with a chat: a Chinese shop's "在线客服" section came
# first for the first question, its "客服电话" (the hotline) for the second.
CONTACT_QUESTION = N_("How can I contact customer support by phone or email?")
CONTACT_PHONE_QUESTION = N_("What is your customer service phone number?")
CONTACT_LEAD = N_("This is how to reach our support team:")
HANDOFF_ENDED_USER = N_("The support agent has closed this chat. I'm back — ask me anything.")
OPERATOR_PREFIX = N_("👤 Support: ")

FEEDBACK_THANKS = N_("Thanks for the feedback!")
FEEDBACK_COMMENT_SAVED = N_("Thanks, your comment was saved.")
FEEDBACK_EXPIRED = N_("This answer is no longer available for feedback.")
CORRECTION_NEEDS_WORDS = N_(
    "A correction needs words, not only emoji or symbols. Reply to the message above again with the "
    "corrected answer."
)
CORRECTION_SAVED = N_("✏️ Correction saved; the training export will use it instead of the bot's answer.")
APPROVED_SAVED = N_(
    "✏️ Correction saved as approved answer #{id}: the same question gets it from now on, and the "
    "training export uses it instead of the bot's answer."
)
# How an approved answer is cited under it (with its article, when it has one).
APPROVED_ANSWER = N_("Approved answer")

# The place-in-line notice (after `bot.conversation.WAIT_MARK`): no ordinals and unit abbreviations, so
# one text fits every number in every language.
WAIT_PLACE = N_("You're number {position} in line. I'll start on your answer as soon as it's your turn.")
WAIT_SECONDS = N_("You're number {position} in line. Your answer should start in about {seconds} s.")
WAIT_MINUTES = N_("You're number {position} in line. Your answer should start in about {minutes} min.")

SOURCES = N_("Sources")
# Headed the sections the search also found, listed under an answer (`Answer.see_also`).
SEE_ALSO = N_("See also")
NO_ANSWER = N_("Sorry, I have no answer to that.")
# Opens an answer whose passages the gate was not confident about (`RAGSettings.confident_relevance`).
UNSURE_LEAD = N_("This may not be exactly what you asked, but it is the closest our help center has:")


def unsure_lead(language: str) -> str:
    """`UNSURE_LEAD` in `language`, as it opens an answer: the answer's text follows a blank line."""
    return translate(UNSURE_LEAD, language) + "\n\n"


@cache
def _unsure_leads() -> tuple[str, ...]:
    return tuple(dict.fromkeys(unsure_lead(language) for language in LANGUAGES))


def without_unsure_lead(text: str) -> str:
    """A logged answer's text without the `UNSURE_LEAD` it may open with, in any shipped language: what the
    model or the quote said. The log keeps what the customer read; the model's history and the training
    export must not learn to open every answer with a doubt."""
    lead = next((lead for lead in _unsure_leads() if text.startswith(lead)), "")
    return text[len(lead) :]


def without_leads(text: str) -> str:
    """A logged answer's text without the fixed lines the bot opens it with, in any shipped language: the
    note that the quote is in the help center's language (`QUOTED_IN_KB_LANGUAGE`), then the unsure lead.
    What the model or the quote said is what its history and the training export learn from."""
    return without_unsure_lead(_quoted_note().sub("", text, count=1))


# The pipeline's fixed outcome texts. bot/rag/pipeline.py owns them; they are repeated here, marked, so that
# extraction puts them into the catalogs, and tests/core/test_i18n.py fails as soon as the two differ.
# The conversation service shows them in the customer's language (`localize_answer_text`).
PIPELINE_TEXTS: dict[str, str] = {
    "refused": N_(
        "I'm sorry, I couldn't find this in our help center, so I'd rather not guess. "
        "Would you like me to connect you with a person from our support team?"
    ),
    "kb_unavailable": N_(
        "I can't look that up right now. Please try again in a few minutes, "
        "or ask to talk to a person from our support team."
    ),
    "busy": N_("I'm answering a lot of questions right now. Please send your message again in a minute."),
    "model_error": N_(
        "Sorry, something went wrong while I was writing the answer. Please try again, "
        "or ask to talk to a person from our support team."
    ),
    "empty": N_("Please type your question, and I'll look it up in our help center."),
    "too_long": N_(
        "Your message is too long for me to answer in one go. Please shorten it to the essential question "
        "(a few sentences) and send it again."
    ),
    "ungrounded_caveat": N_(
        "Note: I could not tie this answer to a specific help-center article, so please double-check it."
    ),
    # Opens the list of an article's parts (outcome "outlined"), which follow it one a line as written.
    "outline_lead": N_("Which of these is your question about?"),
}


# The same fixed outcomes where no person can be brought in (no operator chat: a web-only deployment), so
# the customer is not asked to choose a person who does not exist.
WITHOUT_OPERATORS: dict[str, str] = {
    PIPELINE_TEXTS["refused"]: N_(
        "I'm sorry, I couldn't find this in our help center, so I'd rather not guess."
    ),
    PIPELINE_TEXTS["kb_unavailable"]: N_(
        "I can't look that up right now. Please try again in a few minutes."
    ),
    PIPELINE_TEXTS["model_error"]: N_(
        "Sorry, something went wrong while I was writing the answer. Please try again."
    ),
}


# Replies to a message that is only small talk (`bot.small_talk`): no search, no model, no handoff.
SMALL_TALK_REPLIES: dict[str, str] = {
    "greeting": N_("Hello! What can I help you with? Ask me anything about our service."),
    "thanks": N_("You're welcome! Is there anything else I can help you with?"),
    "goodbye": N_("Goodbye, and thanks for getting in touch!"),
    "ok": N_("Is there anything else I can help you with?"),
}


# A refusal of a question in a language the help center is not written in says which one it is: the
# shipped English embedder finds nothing across languages, and the customer may be able to ask in it.
ASK_IN_KB_LANGUAGE = N_(
    "Our help center is written in {languages}. If you can, ask me in that language and I'll look again."
)
# The same for a help center written in several languages ("English / Chinese"): "that language" would not do.
ASK_IN_KB_LANGUAGES = N_(
    "Our help center is written in {languages}. If you can, ask me in one of these languages and I'll look "
    "again."
)
# Opens a quote found through a translation of the question (`bot.kb.crosslingual`): the passage is in the
# help center's language, which the customer did not write in.
QUOTED_IN_KB_LANGUAGE = N_(
    "Our help center is written in {languages}. This is what it says about your question:"
)
# The same note for a quote the gate was not confident about, in place of both it and `UNSURE_LEAD`: the two
# stacked read as two preambles saying the same ("…this is what it says about your question: / This may not be
# exactly what you asked…").
QUOTED_IN_KB_LANGUAGE_UNSURE = N_(
    "Our help center is written in {languages}. This may not be exactly what you asked, but it is the "
    "closest it has:"
)
# The names of the shipped languages, in the customer's (others are named in English).
SHOWN_LANGUAGE_NAMES = {
    "en": N_("English"),
    "de": N_("German"),
    "fr": N_("French"),
    "es": N_("Spanish"),
    "it": N_("Italian"),
    "nl": N_("Dutch"),
    "pt": N_("Portuguese"),
    "ru": N_("Russian"),
    "id": N_("Indonesian"),
    "tr": N_("Turkish"),
    "vi": N_("Vietnamese"),
    "th": N_("Thai"),
    "hi": N_("Hindi"),
    "ar": N_("Arabic"),
    "fa": N_("Persian"),
    "el": N_("Greek"),
    "uk": N_("Ukrainian"),
    "he": N_("Hebrew"),
    "cs": N_("Czech"),
    "sv": N_("Swedish"),
    "hu": N_("Hungarian"),
    "pl": N_("Polish"),
    "zh": N_("Chinese"),
    "ja": N_("Japanese"),
    "ko": N_("Korean"),
}


def kb_language_hint(kb_languages: tuple[str, ...], language: str) -> str:
    """`ASK_IN_KB_LANGUAGE` in `language`, naming the help center's languages in it."""
    shown = _language_names(kb_languages, language)
    text = ASK_IN_KB_LANGUAGES if len(shown) > 1 else ASK_IN_KB_LANGUAGE
    return translate(text, language).format(languages=" / ".join(shown))


def quoted_in_kb_language(kb_languages: tuple[str, ...], language: str, *, unsure: bool = False) -> str:
    """`QUOTED_IN_KB_LANGUAGE` in `language`, naming the language quoted in it; `unsure`, the note that
    replaces both it and `UNSURE_LEAD` (`QUOTED_IN_KB_LANGUAGE_UNSURE`)."""
    shown = _language_names(kb_languages, language)
    note = QUOTED_IN_KB_LANGUAGE_UNSURE if unsure else QUOTED_IN_KB_LANGUAGE
    return translate(note, language).format(languages=" / ".join(shown))


def with_quoted_note(text: str, kb_languages: tuple[str, ...], language: str) -> str:
    """`text`, a quote found through a translation, opened by the note that it is in the help center's
    language; a text opening with the unsure lead gets the one note that says both."""
    lead = unsure_lead(language)
    if text.startswith(lead):
        return f"{quoted_in_kb_language(kb_languages, language, unsure=True)}\n\n{text[len(lead) :]}"
    return f"{quoted_in_kb_language(kb_languages, language)}\n\n{text}"


@cache
def _quoted_note() -> re.Pattern[str]:
    # Any shipped translation of either note, any language named in it, and the blank line after it.
    notes = dict.fromkeys(
        translate(note, language)
        for note in (QUOTED_IN_KB_LANGUAGE, QUOTED_IN_KB_LANGUAGE_UNSURE)
        for language in LANGUAGES
    )
    shapes = (re.escape(note).replace(re.escape("{languages}"), "[^\n]{1,80}?") for note in notes)
    return re.compile(rf"\A(?:{'|'.join(shapes)})\n\n")


def _language_names(kb_languages: tuple[str, ...], language: str) -> list[str]:
    names = [
        translate(SHOWN_LANGUAGE_NAMES[code], language)
        if code in SHOWN_LANGUAGE_NAMES
        else LANGUAGE_NAMES.get(code, code)
        for code in (normalize(lang) for lang in kb_languages)
    ]
    return list(dict.fromkeys(names))


def localize_answer_text(text: str, language: str, *, quoted: bool = False) -> str:
    """A pipeline answer's text with its fixed parts in `language`: a whole fixed text (refusal, busy, …)
    is translated, and so is the caveat that opens an ungrounded answer; the model's or a passage's own
    words are left as they are, except that a `quoted` Chinese passage is shown in the customer's Chinese
    script (the same words in Traditional or Simplified characters: the other script reads as foreign to
    many)."""
    shown = shown_language(language)
    if quoted and shown == TRADITIONAL:
        return to_traditional(text)
    if quoted and shown == "zh":
        return to_simplified(text, words=False)
    if shown == SOURCE_LANGUAGE:
        return text
    translated = translate(text, language)
    if translated != text:
        return translated
    # A fixed line over words of the model or of the help center: the line alone is translated.
    for lead in (PIPELINE_TEXTS["ungrounded_caveat"], PIPELINE_TEXTS["outline_lead"]):
        if text.startswith(lead):
            return translate(lead, language) + text[len(lead) :]
    return text
