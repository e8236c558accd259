"""Fixed user-facing texts of the Telegram channel only (plain text; escaped when rendered)."""

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
FLOOD = (
    "You're sending messages faster than I can answer. I'll answer what you've sent; please wait a moment."
)
MEDIA = "Sorry, I can only read text messages. Please type your question."
UNKNOWN_COMMAND = "I don't know that command. Send /help to see what I can do."
FEEDBACK_ASK_COMMENT = "Sorry it didn't help. What was wrong? Reply to this message (optional)."
BUTTON_EXPIRED = "This button has expired."
CORRECTION_ASK = "✏️ Send the corrected answer as a reply to this message."
BUTTON_UP = "👍"
BUTTON_DOWN = "👎"
BUTTON_HUMAN = "Talk to a human"
BUTTON_CORRECT = "✏️ Correct"
BUTTON_END_HANDOFF = "✅ End handoff"
