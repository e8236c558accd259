"""Persian words as customers chat them: their everyday loanwords beside the words help centers write."""

from __future__ import annotations

# Everyday words of Iranian customers (English and French loanwords in Persian letters, spoken forms) beside
# the words help centers write for the same thing, one meaning a line: a question with one is also searched
# for the others (`bot.kb.analysis`, by their stems). Only words of one meaning: not "گوشی" (a handset, and a
# receiver), nor "کد" (a code of any kind).
SAME_MEANING_LINES = """
کنسل کنسلی لغو
اکانت حساب
پسورد رمز
اپ اپلیکیشن برنامه
اسمس پیامک
تومن تومان
ریفاند بازگشت
لوکیشن موقعیت
ماشین خودرو
فاکتور صورتحساب
"""
