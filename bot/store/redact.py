"""PII redaction for exported text: typed placeholders, idempotent, with counts by type."""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from bot.config import RedactionSettings
from bot.pii import EMAIL as _EMAIL
from bot.pii import IBAN as _IBAN
from bot.pii import ID_NUMBER as _ID_NUMBER
from bot.pii import WORD_CHAR as _W
from bot.pii import (
    bank_account_spans,
    chat_id_spans,
    fold,
    iban_span,
    iban_valid,
    id_number_valid,
    labelled_id_spans,
    phone_fold,
)

if TYPE_CHECKING:
    import phonenumbers

PLACEHOLDERS = (
    "EMAIL", "PHONE", "CARD", "IBAN", "BANK_ACCOUNT", "ID_NUMBER", "HANDLE", "USER_ID", "SECRET", "CUSTOM",
)  # fmt: skip
# A placeholder the redactor wrote; its kind is the group (what `forget_user` lines a redacted text up by).
PLACEHOLDER = re.compile(r"<(" + "|".join(PLACEHOLDERS) + r")>")

# A credential a customer pastes ("I put our key sk_live_51Hx… in a ticket"), by the prefix its issuer gives
# it and a digit (and, where the issuer mixes case, a capital; AWS's are base32) in its random part, so that
# no word or identifier ("unit_test_helpers", "run_test_case1234567890", "ASIAPACIFICREGION123") is one:
# Stripe's and others' "sk_live_…", "rk_test_…", "whsec_…"; GitHub's "ghp_…" and "github_pat_…"; Slack's
# "xoxb-…"; Google's "AIza…"; AWS's access key ids; OpenAI's and Anthropic's "sk-…"; a JSON Web Token; and
# what follows "Bearer". An invoicing trial's export kept "sk_live_51Hx9aQ2eZvKYlo2C8dQpR7tLmN" as typed.
_SECRET = re.compile(
    r"(?<![\w-])(?:"
    r"[a-z]{2,10}_(?:live|test|prod)_(?=[a-z0-9]*[A-Z])(?=[A-Za-z]*\d)[A-Za-z0-9]{16,}|whsec_[A-Za-z0-9+/=]{16,}"
    r"|gh[pousr]_[A-Za-z0-9]{30,}|github_pat_\w{30,}"
    r"|xox[abeoprs]-[A-Za-z0-9-]{10,}"
    r"|AIza[0-9A-Za-z_-]{35}"
    r"|(?:AKIA|ASIA)(?=[A-Z]*[2-7])[A-Z2-7]{16}"
    r"|sk-(?:[a-z]{2,8}-)*(?=[a-z0-9_-]*[A-Z])(?=[A-Za-z_-]*\d)[A-Za-z0-9_-]{20,}"
    r"|eyJ[A-Za-z0-9_-]{8,}\.eyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}"
    r"|(?<=Bearer )(?=[A-Za-z._~+/-]*\d)[A-Za-z0-9._~+/-]{16,}=*"
    r")(?![\w-])"
)
# 12-19 digits, optionally grouped by single spaces or dashes; Luhn and the issuer prefix decide.
_CARD = re.compile("(?<![.,/+-])(?<!" + _W + ")\\d(?:[ -]?\\d){11,18}(?!" + _W + "|[/-]|[.,]\\d)")
# Telegram usernames: 5-32 characters, a letter first. Not followed by `(` or `.name`, and not a
# well-known decorator: a Python support bot talks about `@property` far more than about such users.
# Against CJK text too ("请联系@support_team谢谢"): those scripts write no space around a handle.
_HANDLE = re.compile(
    "(?<!" + _W + ")(?<![_@.`?&=/:])@[A-Za-z][A-Za-z0-9_]{4,31}(?!" + _W + "|[@(`]|\\.[A-Za-z_])"
)
_DECORATORS = frozenset(
    [
        "property",
        "staticmethod",
        "classmethod",
        "dataclass",
        "abstractmethod",
        "abstractproperty",
        "overload",
        "override",
        "cache",
        "lru_cache",
        "cached_property",
        "contextmanager",
        "asynccontextmanager",
        "wraps",
        "total_ordering",
        "singledispatch",
        "singledispatchmethod",
        "final",
        "runtime_checkable",
        "functools",
        "pytest",
        "fixture",
        "typing",
        "validator",
        "field_validator",
        "model_validator",
        "computed_field",
        "setter",
        "getter",
        "deleter",
        "deprecated",
        "unique",
        "setlocal",
        "endlocal",
    ]
)
# Seven or more digits, possibly separated: anything shorter is no phone number in any region we match.
_PHONE_CANDIDATE = re.compile(r"\d(?:[\s().\-/]{0,3}\d){6,}")
_DIGIT_RUN = re.compile("(?<![.,-])(?<!" + _W + ")\\d{5,15}(?!" + _W + "|[.,]\\d)")
# A number only counts as a Telegram user id when the text says so (known ids are matched anywhere).
_USER_ID_CONTEXT = re.compile(
    r"(?i)(?:\b(?:user|chat|sender|from|telegram|tg)[\s_-]?id\b|\buid\b|tg://user\?id=)\s*(?:is|[:=#])?\s*"
    r"(\d{5,15})(?!\d)"
)
# Phone-number look-alikes that are something else (checked on the matched text and its surroundings).
_DATE_LIKE = re.compile(
    r"\d{4}[-/.]\d{1,2}[-/.]\d{1,2}|\d{1,2}[-/.]\d{1,2}[-/.]\d{2,4}|\d{1,2}:\d{2}(?::\d{2})?"
)
# "555-123-4567", "(555) 123 4567", "555.123.4567": the North American way of writing a phone number.
_GROUPED_3_3_4 = re.compile(r"\(?\d{3}\)?[ .-]?\d{3}[ .-]\d{4}")
# A number introduced by one of these words is an identifier, not a phone number. In Italian too: with IT's
# formats, "ordine n. 3401234567" is a mobile number's shape. In Korean: order, waybill, booking and receipt
# numbers (주문번호, 송장번호, 예약번호, 접수번호) and a business's registration number (사업자등록번호
# "123-45-67890") take the shapes of phone numbers. So do Chinese order, waybill, booking and invoice
# numbers ("訂單編號 0912345678", "我的订单号是13812345678") and Russian order and waybill numbers ("заказ
# 3600123456", "номер заказа …", "трек-номер …"); a CJK word has no `\b` before it, as the text runs on.
# Indonesian order, transaction, waybill and bill numbers ("pesanan 3174012501900003", "no resi …") take a
# NIK's 16 digits and a mobile number's shape.
_ID_WORD_BEFORE = re.compile(
    r"(?:\b(?:order|invoice|ticket|tracking|ref|reference|case|sku|item|transaction|txn|build|version|isbn|"
    r"serial|issue|pr|commit|port|ordine|fattura|pratica|spedizione|pesanan|transaksi|resi|tagihan|주문|송장|운송장|예약|접수|사업자(?:등록)?|"
    r"заказ[а-я]*|накладн[а-я]*|трек(?:-?номер)?)|订单|訂單|运单|運單|快递单|快遞單|预约|預約|发票|發票)"
    r"\s*(?:no\.?|n\.|nr\.?|n°|number|numero|id|번호|номер|№|号码?|號碼?|编号|編號)?\s*(?:是|为|為)?\s*[:#]?\s*$",
    re.IGNORECASE,
)
# A decimal number: with IT's formats, "0.17266028" is a mobile number's digits, and so is a coordinate
# ("34.8014146"). One or two digits before the point, a leading zero alone: "02.12345678" and "333.1234567"
# are phone numbers written with a dot, and were redacted before IT.
_DECIMAL = re.compile(r"0[.,]\d+|[1-9]\d?[.,]\d{5,}")
_MAX_PASSES = 4


def _replaced(segment: str, spans: Iterable[tuple[int, int]], kind: str) -> str:
    """`segment` with each of `spans` (in order, none overlapping) replaced by the placeholder of `kind`."""
    out: list[str] = []
    last = 0
    for start, end in spans:
        out.append(segment[last:start] + f"<{kind}>")
        last = end
    out.append(segment[last:])
    return "".join(out)


@dataclass(frozen=True, slots=True)
class Redacted:
    text: str
    counts: Counter[str] = field(default_factory=Counter)


def luhn_valid(digits: str) -> bool:
    total = 0
    for position, char in enumerate(reversed(digits)):
        value = int(char)
        if position % 2 == 1:
            value *= 2
            if value > 9:
                value -= 9
        total += value
    return total % 10 == 0


def _card_issuer_plausible(digits: str) -> bool:
    """Major networks' prefixes and lengths (Visa, Mastercard, Amex, Discover, JCB, Diners, UnionPay,
    Maestro)."""
    n = len(digits)
    if digits[0] == "4":
        return n in (13, 16, 19)
    if digits[:2] in ("34", "37"):
        return n == 15
    if "51" <= digits[:2] <= "55" or "2221" <= digits[:4] <= "2720":
        return n == 16
    if digits[:4] == "6011" or digits[:2] == "65" or "644" <= digits[:3] <= "649" or digits[:2] == "62":
        return 16 <= n <= 19
    if "3528" <= digits[:4] <= "3589":
        return 16 <= n <= 19
    if digits[:2] in ("36", "38", "39") or "300" <= digits[:3] <= "305":
        return 14 <= n <= 19
    if digits[:2] in ("50", "56", "57", "58", "67", "63"):
        return 12 <= n <= 19
    return False


def _id_number_span(candidate: str) -> int:
    # A NIK has no check digit: 16 digits that are a card's (Luhn, an issuer's prefix) are left to the cards.
    digits = len(candidate) == 16 and candidate.isdigit()
    if digits and _card_issuer_plausible(candidate) and luhn_valid(candidate):
        return 0
    return len(candidate) if id_number_valid(candidate) else 0


def _handle_span(candidate: str) -> int:
    return 0 if candidate[1:].lower() in _DECORATORS else len(candidate)


class Redactor:
    """Replaces PII with `<EMAIL>`, `<PHONE>`, `<CARD>`, `<IBAN>`, `<BANK_ACCOUNT>` (an account number with no
    IBAN, after the bank's name or a label), `<ID_NUMBER>`, `<HANDLE>` (a Telegram @handle, or a QQ number or
    WeChat ID after its label), `<USER_ID>`, `<SECRET>` (an API key or token, `_SECRET`), `<CUSTOM>`."""

    def __init__(self, settings: RedactionSettings | None = None, known_user_ids: Iterable[str] = ()) -> None:
        settings = settings or RedactionSettings()
        self._regions = tuple(settings.phone_regions) or ("US",)
        self._custom = tuple(re.compile(pattern) for pattern in settings.extra_patterns)
        # A set lookup per digit run: a regex alternation of every user id would be slow for big logs.
        self._known_ids = frozenset(
            uid.strip() for uid in known_user_ids if uid.strip().isdigit() and len(uid.strip()) >= 5
        )

    def redact(self, text: str) -> Redacted:
        """Redact `text`; running it again on the output changes nothing."""
        counts: Counter[str] = Counter()
        # Each pass only looks between existing placeholders; repeat until nothing changes so the result
        # is a fixed point (which is what makes redaction idempotent even for odd custom patterns).
        for _ in range(_MAX_PASSES):
            before = text
            text = self._pass(text, counts)
            if text == before:
                break
        return Redacted(text, counts)

    def _pass(self, text: str, counts: Counter[str]) -> str:
        # First: a key's digits and letters are no phone, card or ID number, and it is redacted whole.
        text = self._sub(text, _SECRET, "SECRET", counts)
        text = self._sub(text, _EMAIL, "EMAIL", counts)
        if self._known_ids:  # exact ids of real users win over the phone/card heuristics
            text = self._sub_checked(text, _DIGIT_RUN, "USER_ID", counts, self._known_id_span)
        text = self._sub_group(text, _USER_ID_CONTEXT, "USER_ID", counts)
        # A QQ number or WeChat ID after its label is a chat handle, like a Telegram one; before phones and
        # cards, which would read "QQ号 13812345678" by its digits alone.
        text = self._sub_found(text, "HANDLE", counts, chat_id_spans)
        text = self._sub_checked(text, _IBAN, "IBAN", counts, iban_span)
        # An account number with no IBAN (Korea's) is one only after the bank's name or a label; before
        # phones, as some banks take a mobile number for one ("카카오뱅크 010-1234-5678").
        text = self._sub_found(text, "BANK_ACCOUNT", counts, bank_account_spans)
        # Before cards and phones: an 11-digit CPF is also a valid Brazilian phone number's length, and so is
        # a Partita IVA an Italian one's ("partita iva 07643520567" was redacted as a phone number).
        text = self._sub_found(text, "ID_NUMBER", counts, labelled_id_spans)
        # An order, waybill or SKU code can pass an ID's check digit too ("Order A123456789", "운송장
        # 240115-2000000"): not after their label.
        text = self._sub_checked(text, _ID_NUMBER, "ID_NUMBER", counts, _id_number_span, _ID_WORD_BEFORE)
        text = self._sub_checked(text, _CARD, "CARD", counts, self._card_span)
        text = self._phones(text, counts)
        text = self._sub_checked(text, _HANDLE, "HANDLE", counts, _handle_span)
        for pattern in self._custom:
            text = self._sub(text, pattern, "CUSTOM", counts)
        return text

    # -- helpers working only on the text between placeholders; they match on its `_fold`

    @staticmethod
    def _segments(text: str, func: Callable[[str], str]) -> str:
        out: list[str] = []
        last = 0
        for match in PLACEHOLDER.finditer(text):
            out.append(func(text[last : match.start()]))
            out.append(match.group())
            last = match.end()
        out.append(func(text[last:]))
        return "".join(out)

    def _sub(self, text: str, pattern: re.Pattern[str], kind: str, counts: Counter[str]) -> str:
        def one(segment: str) -> str:
            spans = [match.span() for match in pattern.finditer(fold(segment))]
            if spans:
                counts[kind] += len(spans)
            return _replaced(segment, spans, kind)

        return self._segments(text, one)

    def _sub_group(self, text: str, pattern: re.Pattern[str], kind: str, counts: Counter[str]) -> str:
        def one(segment: str) -> str:
            spans = [match.span(1) for match in pattern.finditer(fold(segment))]
            if spans:
                counts[kind] += len(spans)
            return _replaced(segment, spans, kind)

        return self._segments(text, one)

    def _sub_found(
        self, text: str, kind: str, counts: Counter[str], find: Callable[[str], list[tuple[int, int]]]
    ) -> str:
        """Like `_sub`, with the spans `find` finds in each segment's `fold`."""

        def one(segment: str) -> str:
            spans = find(fold(segment))
            if spans:
                counts[kind] += len(spans)
            return _replaced(segment, spans, kind)

        return self._segments(text, one)

    def _sub_checked(
        self,
        text: str,
        pattern: re.Pattern[str],
        kind: str,
        counts: Counter[str],
        check: Callable[[str], int],
        unless_after: re.Pattern[str] | None = None,
    ) -> str:
        """Like `_sub`, but `check(candidate)` says how many leading characters really are PII (0: none); none
        is where `unless_after` matches the text before the candidate."""

        def one(segment: str) -> str:
            folded = fold(segment)
            spans: list[tuple[int, int]] = []
            pos = 0
            while (match := pattern.search(folded, pos)) is not None:
                labelled = unless_after is not None and unless_after.search(
                    folded[max(0, match.start() - 40) : match.start()]
                )
                length = 0 if labelled else check(match.group())
                if length:
                    spans.append((match.start(), match.start() + length))
                    pos = match.start() + length
                else:
                    # Try again one character later (the real item may start inside this candidate).
                    pos = match.start() + 1
            if spans:
                counts[kind] += len(spans)
            return _replaced(segment, spans, kind)

        return self._segments(text, one)

    def _known_id_span(self, candidate: str) -> int:
        return len(candidate) if candidate in self._known_ids else 0

    @staticmethod
    def _card_span(candidate: str) -> int:
        digits = re.sub(r"[ -]", "", candidate)
        if _card_issuer_plausible(digits) and luhn_valid(digits):
            return len(candidate)
        return 0

    def _phones(self, text: str, counts: Counter[str]) -> str:
        import phonenumbers

        def one(segment: str) -> str:
            folded = phone_fold(segment)
            if not _PHONE_CANDIDATE.search(folded):
                return segment  # the matcher is slow; most text has no run of digits long enough
            spans: list[tuple[int, int]] = []
            for region in self._regions:
                for match in phonenumbers.PhoneNumberMatcher(
                    folded, region, leniency=phonenumbers.Leniency.VALID
                ):
                    if self._looks_like_phone(folded, match.start, match.end) and self._personal(match):
                        spans.append((match.start, match.end))
                # A number in a range the library holds unassigned or reserved ("+44 7700 900123",
                # "555-123-4567") is not VALID, yet still somebody's number in a log when it is written as
                # one: in international form, or grouped 3-3-4. Other POSSIBLE matches (3.14159265) are not.
                for match in phonenumbers.PhoneNumberMatcher(
                    folded, region, leniency=phonenumbers.Leniency.POSSIBLE
                ):
                    raw = match.raw_string
                    written_as_phone = raw.startswith("+") or _GROUPED_3_3_4.fullmatch(raw) is not None
                    if (
                        written_as_phone
                        and self._looks_like_phone(folded, match.start, match.end)
                        and self._personal(match)
                    ):
                        spans.append((match.start, match.end))
            if not spans:
                return segment
            merged: list[tuple[int, int]] = []
            for start, end in sorted(spans):
                if merged and start < merged[-1][1]:
                    merged[-1] = (merged[-1][0], max(merged[-1][1], end))
                else:
                    merged.append((start, end))
            counts["PHONE"] += len(merged)
            return _replaced(segment, merged, "PHONE")

        return self._segments(text, one)

    @staticmethod
    def _personal(match: phonenumbers.PhoneNumberMatch) -> bool:
        """Whether a matched number can be a person's: not one of Korea's nationwide numbers (15xx, 16xx,
        18xx), which only businesses rent and every Korean help center prints ("대표번호: 1666-0420"); nor a
        short number read with a country code written without its plus (with KR, "총 8254-130개" was +82
        54-130)."""
        import phonenumbers

        number = match.number
        if number.country_code == 82 and phonenumbers.number_type(number) == phonenumbers.PhoneNumberType.UAN:
            return False
        national = len(str(number.national_number))
        written = sum(ch.isdigit() for ch in match.raw_string)
        # One digit more than the national number is its trunk prefix ("010-…", "8 916 …"); more is a country
        # code, and a whole number after one has 8 digits or more.
        return match.raw_string.startswith("+") or written <= national + 1 or national >= 8

    @staticmethod
    def _looks_like_phone(segment: str, start: int, end: int) -> bool:
        """Reject matches that are really order ids, dates, times, prices, versions or percentages."""
        raw = segment[start:end]
        before = segment[max(0, start - 12) : start]
        after = segment[end : end + 3]
        if before.endswith("`") or after.startswith("`"):
            return False  # a literal in code markup (a hash value, a constant)
        if _DATE_LIKE.fullmatch(raw.strip("()")) or _DECIMAL.fullmatch(raw):
            return False
        if re.search(r"(?:#|№|\bno\.?\s*|[A-Za-z]{2,}[-_/]|[$€£¥₹₽]\s?)$", before, re.IGNORECASE):
            return False  # order/invoice id or price
        if _ID_WORD_BEFORE.search(segment[max(0, start - 40) : start]):
            return False
        if re.match(r"\s?(?:%|[$€£¥₹₽]|[-_/.][A-Za-z0-9])", after):
            return False  # percentage, price, or part of a longer id / version / path
        if before.endswith((".", ",", "-", "/", ":")) and before[-2:-1].isdigit():
            return False  # tail of a version number, decimal or time
        digits = sum(ch.isdigit() for ch in raw)
        # Bare digit runs (no separators) are only phones when written in international form.
        return not (raw.isdigit() and not before.rstrip().endswith("+") and digits < 10)


__all__ = ["PLACEHOLDERS", "Redacted", "Redactor", "iban_valid", "luhn_valid"]
