"""The widget's labels, served in the visitor's language where a catalog already translates them.

Texts that Telegram or the conversation service already have reuse their msgids (so they are translated);
the widget's own few labels are English. "Message" and "Send" are the accessible names the tests look for.
"""

from __future__ import annotations

from bot import texts
from bot.channels.telegram import texts as tg_texts

TITLE = "Support"
OPEN = "Chat with us"
CLOSE = "Close chat"
MESSAGE = "Message"
SEND = "Send"
NEW = "New conversation"
COMMENT = "What was wrong? (optional)"
COMMENT_SEND = "Send comment"
HELPFUL = "Helpful"
NOT_HELPFUL = "Not helpful"
FORWARDED = "Your message was passed on to a person from our support team."
THINKING = "…"
GREETING = "Hi! Ask me a question and I'll answer from our help center, with my sources."


def labels(language: str) -> dict[str, str]:
    """Every label the widget shows, in `language` where a shipped catalog has it."""

    def t(message: str) -> str:
        return texts.translate(message, language)

    return {
        "title": TITLE,
        "open": OPEN,
        "close": CLOSE,
        "message": MESSAGE,
        "send": SEND,
        "new": NEW,
        "comment": COMMENT,
        "commentSend": COMMENT_SEND,
        "helpful": HELPFUL,
        "notHelpful": NOT_HELPFUL,
        "human": t(tg_texts.BUTTON_HUMAN),
        "sources": t(texts.SOURCES),
        "thanks": t(texts.FEEDBACK_THANKS),
        "commentSaved": t(texts.FEEDBACK_COMMENT_SAVED),
        "newStarted": t(texts.NEW_CONVERSATION),
        "handoffEnded": t(texts.HANDOFF_ENDED_USER),
        "error": t(texts.ERROR),
        "forwarded": FORWARDED,
        "thinking": THINKING,
        "greeting": GREETING,
    }


def flood(language: str) -> str:
    return texts.translate(tg_texts.FLOOD, language)


def error(language: str) -> str:
    return texts.translate(texts.ERROR, language)
