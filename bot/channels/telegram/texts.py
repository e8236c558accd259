"""Fixed user-facing texts of the Telegram channel (plain text; escaped when rendered)."""

from __future__ import annotations

START = (
    "Hi {name}! I'm the support assistant. Ask me anything about the product and I'll answer from our "
    "help center, with the sources I used.\n\n"
    "• Just type your question.\n"
    "• /new starts a fresh conversation.\n"
    "• /human connects you with a person from our team.\n"
    "• /help shows this message."
)
HELP = (
    "Type a question and I'll look it up in the help center and show my sources.\n\n"
    "Commands:\n"
    "/new — start a new conversation\n"
    "/human — talk to a person from our team\n"
    "/help — this help\n\n"
    'Under each answer: 👍 / 👎 tell us if it helped, "Talk to a human" brings in a person.'
)
ADMIN_HELP = (
    "\n\nAdmin commands:\n"
    "/reload — reload the knowledge base\n"
    "/stats — usage and quality figures\n"
    "/export — download the training export\n"
    "Send a document (md, rst, txt, html, pdf, csv/jsonl/yaml FAQ) to add it to the knowledge base."
)
NEW_CONVERSATION = "Started a new conversation. What can I help you with?"
ERROR = "Sorry, something went wrong on my side. Please try again in a moment."
DB_DOWN = "Sorry, I can't take messages right now. Please try again in a few minutes."
FLOOD = (
    "You're sending messages faster than I can answer. I'll answer what you've sent; please wait a moment."
)
MEDIA = "Sorry, I can only read text messages. Please type your question."
TOO_LONG = "Your message is too long for me. Please shorten it to the essential question and send it again."
EMPTY = "How can I help? Type your question."
UNKNOWN_COMMAND = "I don't know that command. Send /help to see what I can do."
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
FEEDBACK_ASK_COMMENT = "Sorry it didn't help. What was wrong? Reply to this message (optional)."
FEEDBACK_COMMENT_SAVED = "Thanks, your comment was saved."
FEEDBACK_EXPIRED = "This answer is no longer available for feedback."
BUTTON_EXPIRED = "This button has expired."
CORRECTION_ASK = "✏️ Send the corrected answer as a reply to this message."
CORRECTION_SAVED = "✏️ Correction saved; the training export will use it instead of the bot's answer."

BUTTON_UP = "👍"
BUTTON_DOWN = "👎"
BUTTON_HUMAN = "Talk to a human"
BUTTON_CORRECT = "✏️ Correct"
BUTTON_END_HANDOFF = "✅ End handoff"
