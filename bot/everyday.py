"""Ukrainian and Hebrew words as customers chat them: everyday words and loanwords beside help centers'."""

from __future__ import annotations

# One meaning a line: a question with one word of a line is also searched for the others (`bot.kb.analysis`,
# by their stems). Only words of one meaning in a help center's questions: not "програма" (an app, and a
# loyalty programme), nor "телефон" (a handset, and a number to call), nor "додатку" (of an app), whose six
# letters are "додатковий"'s too (additional).
UKRAINIAN_SAME_MEANING_LINES = """
гроші кошти
картка карта карточка
застосунок додаток
знижка скидка
акаунт аккаунт обліковий
обміняти поміняти
повернути вернути
ноутбук ноут
телевізор телек
айфон iphone
андроїд android
"""

# Israeli customers' words: slang and English loanwords in Hebrew letters. Not "סים" (a SIM, and the start of
# other words once a prefix is read off), nor "כרטיס" (a SIM card, and a credit card); nor "וייפיי" (Wi-Fi),
# which help centers write "Wi-Fi", two words to the index.
HEBREW_SAME_MEANING_LINES = """
פלאפון טלפון
אפליקציה אפליקצייה יישומון
ראוטר נתב
מייל אימייל דואל
איסים האיסים esim
סמס מסרון sms
קנסל ביטול
אייפון iphone
גלקסי galaxy
אנדרואיד android
"""
