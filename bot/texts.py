"""Fixed user-facing texts of the conversation service, the same in every channel (plain text)."""

from __future__ import annotations

NEW_CONVERSATION = "Started a new conversation. What can I help you with?"
ERROR = "Sorry, something went wrong on my side. Please try again in a moment."
DB_DOWN = "Sorry, I can't take messages right now. Please try again in a few minutes."
NOT_ALLOWED = "Sorry, you're not allowed to do that."

HANDOFF_REQUESTED = (
    "I've asked a person from our support team to join. They'll reply right here. "
    "Send /new if you'd rather continue with me."
)
HANDOFF_AFTER_REFUSAL = (
    "I've passed your question to a person from our support team; they'll reply right here."
)
HANDOFF_ALREADY = "A person from our support team has already been asked and will reply here."
HANDOFF_UNAVAILABLE = (
    "Sorry, nobody from our team is available in this chat right now. Please try again later."
)
HANDOFF_ENDED_USER = "The support agent has closed this chat. I'm back — ask me anything."
OPERATOR_PREFIX = "👤 Support: "

FEEDBACK_THANKS = "Thanks for the feedback!"
FEEDBACK_COMMENT_SAVED = "Thanks, your comment was saved."
FEEDBACK_EXPIRED = "This answer is no longer available for feedback."
CORRECTION_SAVED = "✏️ Correction saved; the training export will use it instead of the bot's answer."
