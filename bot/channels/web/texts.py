"""The widget's labels, served in the visitor's language where a catalog already translates them.

Texts that Telegram or the conversation service already have reuse their msgids; the widget's own labels
are marked for the same catalogs. "Message" and "Send" are the English accessible names the tests look for.
"""

from __future__ import annotations

from bot import texts
from bot.channels.telegram import texts as tg_texts
from bot.language import UNDETERMINED, language_tag
from bot.texts import N_

TITLE = N_("Support")
OPEN = N_("Chat with us")
CLOSE = N_("Close chat")
MESSAGE = N_("Message")
SEND = N_("Send")
NEW = N_("New conversation")
COMMENT = N_("What was wrong? (optional)")
COMMENT_SEND = N_("Send comment")
HELPFUL = N_("Helpful")
NOT_HELPFUL = N_("Not helpful")
FORWARDED = N_("Your message was passed on to a person from our support team.")
THINKING = "…"
GREETING = N_("Hi! Ask me a question and I'll answer from our help center, with my sources.")
# The web's flood notice: the widget takes one question at a time, so when the rule applies every earlier
# question has been answered (or, in a handoff, passed on), and Telegram's text ("I'll answer the ones before
# this one") would not be true. It promises no answer, so it is as true during a handoff.
FLOOD = N_("You're sending a lot of messages in a row. Please wait a few seconds, then send this one again.")
# The buttons' limit (feedback, handoff, new conversation) counts a minute: "a few seconds" would not be true.
TOO_MANY_PRESSES = N_("That was a lot of clicks in a row. Please wait a minute, then try again.")
# The per-address limit counts every request from one address (a household or an office may share one) over
# a minute, and the widget holds back sending for its Retry-After: "a few seconds" would not be true.
ADDRESS_LIMITED = N_(
    "Too many requests are coming from your network right now. Please wait a minute, then try again."
)

# The demo help center's own texts (`app.HelpCenter`), in the visitor's language as the widget's labels are;
# the articles are shown as written. "Help center" also heads the article pages' link back to the home page.
HELP_CENTER = N_("Help center")
HELP_CENTER_INTRO = N_(
    "Browse the articles, or ask the assistant (bottom right): it answers from these articles and links the "
    "ones it used."
)
ARTICLES = N_("Articles")
NO_SUCH_ARTICLE = N_("No such article.")
ARTICLE_NOT_SHOWN = N_("This article cannot be shown here.")


def labels(language: str) -> dict[str, str]:
    """Every label the widget shows, in `language` where a shipped catalog has it."""

    def t(message: str) -> str:
        return texts.translate(message, language)

    return {
        "title": t(TITLE),
        "open": t(OPEN),
        "close": t(CLOSE),
        "message": t(MESSAGE),
        "send": t(SEND),
        "new": t(NEW),
        "comment": t(COMMENT),
        "commentSend": t(COMMENT_SEND),
        "helpful": t(HELPFUL),
        "notHelpful": t(NOT_HELPFUL),
        "human": t(tg_texts.BUTTON_HUMAN),
        "sources": t(texts.SOURCES),
        "seeAlso": t(texts.SEE_ALSO),
        "thanks": t(texts.FEEDBACK_THANKS),
        "commentSaved": t(texts.FEEDBACK_COMMENT_SAVED),
        "newStarted": t(texts.NEW_CONVERSATION),
        "handoffEnded": t(texts.HANDOFF_ENDED_USER),
        "error": t(texts.ERROR),
        "flood": t(FLOOD),  # a 429 without a message of its own (a proxy's: the app's all carry one)
        "dbDown": t(texts.DB_DOWN),
        "forwarded": t(FORWARDED),
        "thinking": THINKING,
        "greeting": t(GREETING),
    }


def browser_language(accept_language: str) -> str:
    """The first language of a browser's Accept-Language header ("und" when it names none)."""
    first = accept_language.split(",")[0].split(";")[0].strip()
    return language_tag(first) if first and first != "*" else UNDETERMINED


def address_limited(language: str) -> str:
    return texts.translate(ADDRESS_LIMITED, language)


def flood(language: str) -> str:
    return texts.translate(FLOOD, language)


def too_many_presses(language: str) -> str:
    return texts.translate(TOO_MANY_PRESSES, language)


def still_answering(language: str, *, handoff: bool = False) -> str:
    """A question sent while the one before it is still being answered: Telegram's flood text is true. Not
    during a handoff, where the one before is being passed on to a person and the bot answers nothing: the
    web's own flood text (wait, then send this one again) is."""
    return texts.translate(FLOOD if handoff else tg_texts.FLOOD, language)


def error(language: str) -> str:
    return texts.translate(texts.ERROR, language)
