"""Fixed user-facing texts of the Telegram channel only (plain text; escaped when rendered; translated by
`bot.texts.translate`)."""

from __future__ import annotations

from bot.texts import N_

START = N_(
    "Hi {name}! I'm the support assistant. Ask me anything about the product and I'll answer from our "
    "help center, with the sources I used.\n\n"
    "• Just type your question.\n"
    "• /new starts a fresh conversation.\n"
    "• /human connects you with a person from our team.\n"
    "• /help shows this message."
)
HELP = N_(
    "Type a question and I'll look it up in the help center and show my sources.\n\n"
    "Commands:\n"
    "/new — start a new conversation\n"
    "/human — talk to a person from our team\n"
    "/help — this help\n\n"
    'Under each answer: 👍 / 👎 tell us if it helped, "Talk to a human" brings in a person.'
)
ADMIN_HELP = N_(
    "\n\nAdmin commands:\n"
    "/reload — reload the knowledge base\n"
    "/stats — usage and quality figures\n"
    "/export — download the training export\n"
    "Send a document (md, rst, txt, html, pdf, csv/jsonl/yaml FAQ) to add it to the knowledge base."
)
ADMIN_HELP_CORRECT = N_(
    "\n/correct ID — correct any logged answer (the latest ids are in /stats); the same question gets "
    "your answer from then on"
)
CORRECT_USAGE = N_("Usage: /correct ANSWER_ID (the ids of the latest answers are in /stats).")
CORRECT_UNKNOWN = N_("There is no bot answer #{id} in the log.")
CORRECT_ASK_ANSWER = N_(
    "✏️ Answer #{id}\nQuestion: {question}\nAnswer: {answer}\n\n"
    "Reply to this message with the corrected answer."
)
# Said once to the first message over the limit, which is not answered (nor are the rest in the window).
FLOOD = N_(
    "You're sending messages faster than I can answer. I'll answer the ones before this one; please send the "
    "rest again in a moment."
)
# The same, during a handoff: the messages before it went to the operators, and the bot answers none of them.
FLOOD_HANDOFF = N_(
    "You're sending messages faster than our team can read them. The ones before this one were passed on; "
    "please send the rest again in a moment."
)
MEDIA = N_("Sorry, I can only read text messages. Please type your question.")
UNKNOWN_COMMAND = N_("I don't know that command. Send /help to see what I can do.")
FEEDBACK_ASK_COMMENT = N_("Sorry it didn't help. What was wrong? Reply to this message (optional).")
BUTTON_EXPIRED = N_("This button has expired.")
CORRECTION_ASK = N_("✏️ Send the corrected answer as a reply to this message.")
BUTTON_UP = "👍"
BUTTON_DOWN = "👎"
# The command menu's descriptions (Telegram shows them by the user's app language).
COMMAND_START = N_("What this bot can do")
COMMAND_HELP = N_("How to use the bot")
COMMAND_NEW = N_("Start a new conversation")
COMMAND_HUMAN = N_("Talk to a person from our team")
BUTTON_HUMAN = N_("Talk to a human")
BUTTON_CORRECT = N_("✏️ Correct")
BUTTON_END_HANDOFF = "✅ End handoff"  # the operator chat (staff) is English
BUTTON_NOT_YOURS = N_("Only the person who asked can use this button.")
