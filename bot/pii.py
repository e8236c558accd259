"""Patterns of personal data shared by the redactor and the names check: emails, IBANs, national IDs."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Sequence
from datetime import date

# CJK scripts write no spaces: "我的卡号是4111…" puts a card number right after a Han character, which `\w`
# counts as a word character. Boundaries are judged with `WORD_CHAR`, a word character of any other script.
_CJK = "\u2e80-\u2fff\u3040-\u30ff\u3100-\u31ff\u3400-\u4dbf\u4e00-\u9fff\uac00-\ud7af\uf900-\ufaff"
WORD_CHAR = "[^\\W" + _CJK + "]"
_W = WORD_CHAR
_LOCAL = "(?:" + _W + "|[!#$%&'*+^`{|}~-])+(?:\\.(?:" + _W + "|[!#$%&'*+^`{|}~-])+)*"
EMAIL = re.compile(
    # The local part: in Latin (or any non-CJK) letters, bounded by the script change ("邮箱wang.xm@…" is the
    # word 邮箱 and an address), or wholly CJK after a space or punctuation ("张三@example.com").
    "(?<![.+-])(?:(?<![\\w])[" + _CJK + "]+|(?<!" + _W + ")" + _LOCAL + ")"
    # A top-level domain in Latin letters, or in another script (.рф, .中国), not both: "qq.com谢谢".
    "@(?:[^\\W_](?:[\\w-]*[^\\W_])?\\.)+(?:[A-Za-z]{2,63}|[^\\W\\dA-Za-z_]{2,63})(?!" + _W + "|-)",
)
# Country code, check digits, then 11-30 alphanumerics, optionally in groups of four.
IBAN = re.compile("(?<!-)(?<!" + _W + ")[A-Z]{2}\\d{2}(?: ?[A-Z0-9]){11,30}(?!" + _W + "|-)", re.IGNORECASE)
_IBAN_LENGTHS = {
    "AD": 24, "AE": 23, "AL": 28, "AT": 20, "AZ": 28, "BA": 20, "BE": 16, "BG": 22, "BH": 22, "BR": 29,
    "CH": 21, "CR": 22, "CY": 28, "CZ": 24, "DE": 22, "DK": 18, "DO": 28, "EE": 20, "EG": 29, "ES": 24,
    "FI": 18, "FO": 18, "FR": 27, "GB": 22, "GE": 22, "GI": 23, "GL": 18, "GR": 27, "GT": 28, "HR": 21,
    "HU": 28, "IE": 22, "IL": 23, "IQ": 23, "IS": 26, "IT": 27, "JO": 30, "KW": 30, "KZ": 20, "LB": 28,
    "LC": 32, "LI": 21, "LT": 20, "LU": 20, "LV": 21, "MC": 27, "MD": 24, "ME": 22, "MK": 19, "MR": 27,
    "MT": 31, "MU": 30, "NL": 18, "NO": 15, "PK": 24, "PL": 28, "PS": 29, "PT": 25, "QA": 29, "RO": 24,
    "RS": 22, "SA": 24, "SC": 31, "SE": 24, "SI": 19, "SK": 24, "SM": 27, "ST": 25, "SV": 28, "TL": 23,
    "TN": 24, "TR": 26, "UA": 29, "VA": 22, "VG": 24, "XK": 20,
}  # fmt: skip


def iban_valid(candidate: str) -> bool:
    compact = candidate.replace(" ", "").upper()
    expected = _IBAN_LENGTHS.get(compact[:2])
    if expected is None or len(compact) != expected or not compact.isalnum():
        return False
    rearranged = compact[4:] + compact[:4]
    try:
        number = int("".join(str(int(ch, 36)) for ch in rearranged))
    except ValueError:
        return False
    return number % 97 == 1


def iban_span(candidate: str) -> int:
    """How many leading characters of an `IBAN` match are a valid IBAN (0: none)."""
    # The greedy match may have swallowed a following word; try the longest valid prefix.
    for end in range(len(candidate), 14, -1):
        prefix = candidate[:end]
        if prefix.endswith(" "):
            continue
        if end < len(candidate) and candidate[end].isalnum() and candidate[end - 1].isalnum():
            continue  # never cut a group in the middle
        if iban_valid(prefix):
            return end
    return 0


# National identity numbers customers type into a support chat, each with its check digits so that an order
# number of the same length is not one: Brazil's CPF ("123.456.789-09") and CNPJ, China's resident identity
# number (18 characters, the last a check digit or X), Spain's DNI and NIE, Italy's codice fiscale, and the US
# Social Security number written with its dashes (it has no check digit). A Brazilian trial's CPF reached the
# training export, and so did an Italian trial's codice fiscale ("RSSMRA85T10A562S", also written lower-case),
# a Taiwanese trial's national ID ("身分證A123456789") and a Korean trial's resident registration number.
# The codice fiscale: surname and name letters, the year, a month letter, the day (plus 40 for women), the
# birthplace's code and a check letter; where two people would share one, its digits become letters of
# LMNPQRSTUV from the right ("omocodia").
# Taiwan's national ID (身分證字號): the letter of the place of first registration, 1 or 2 (the sex), seven
# digits and a check digit; a resident certificate (居留證) issued since 2021 has 8 or 9 in place of the sex,
# and the same check. Customers type the letter in either case.
# Korea's resident registration number (주민등록번호, "900101-1234568"): the date of birth, a digit for the
# century and the sex (5-8 on a foreigner's registration number, 외국인등록번호), five more and a check digit.
# Only with its hyphen, as the SSN: an order number of 13 digits may start with a date.
# Russia's SNILS (СНИЛС, the insurance number every employee and pensioner has, "112-233-445 95"): nine digits
# and two check digits, written in its groups; bare, its 11 digits are read as a CPF.
# Indonesia's NIK (Nomor Induk Kependudukan, on the KTP): the province, regency and district codes, the date
# of birth as DDMMYY (plus 40 on the day for women) and a serial of four digits; no check digit, so a bare run
# of 16 digits is one only where the province and the date are (`nik_valid`), and any 16 digits after its
# label (`NIK`). An Indonesian trial's "NIK 3174012501900003" reached the training export as written.
_SNILS = "\\d{3}[- ]\\d{3}[- ]\\d{3}[- ]\\d{2}"
_CF_DIGIT = "[0-9LMNPQRSTUV]"
_CODICE_FISCALE = f"(?i:[A-Z]{{6}}{_CF_DIGIT}{{2}}[ABCDEHLMPRST]{_CF_DIGIT}{{2}}[A-Z]{_CF_DIGIT}{{3}}[A-Z])"
ID_NUMBER = re.compile(
    "(?<![.\\-/])(?<!" + _W + ")(?:"
    "\\d{3}\\.\\d{3}\\.\\d{3}-\\d{2}|\\d{11}"  # CPF
    "|\\d{2}\\.\\d{3}\\.\\d{3}/\\d{4}-\\d{2}|\\d{14}"  # CNPJ
    "|\\d{17}[\\dXx]"  # China
    "|\\d{8}-?[A-Za-z]|[XYZxyz]-?\\d{7}-?[A-Za-z]"  # Spain
    "|\\d{3}-\\d{2}-\\d{4}"  # US
    "|\\d{6}-[1-8]\\d{6}"  # Korea
    "|[A-Za-z][1289]\\d{8}"  # Taiwan
    "|\\d{16}"  # Indonesia
    "|" + _SNILS + "|" + _CODICE_FISCALE + ")"  # Russia, Italy
    "(?![.\\-/]?" + _W + ")"
)
_DNI_LETTERS = "TRWAGMYFPDXBNJZSQVHLCKE"
# The codice fiscale's check letter: the value of each character in an odd position (the first, third, …)
# by the official table, in an even one its place in 0-9 or A-Z; their sum modulo 26 as a letter.
_CF_ODD = dict(
    zip(
        "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ",
        (1, 0, 5, 7, 9, 13, 15, 17, 19, 21, 1, 0, 5, 7, 9, 13, 15, 17, 19, 21,
         2, 4, 18, 20, 11, 3, 6, 8, 12, 14, 16, 10, 22, 25, 24, 23),
        strict=True,
    )
)  # fmt: skip
_CF_OMOCODIA = str.maketrans("LMNPQRSTUV", "0123456789")
# A Taiwanese ID's letter counts as its place here plus 10 (A 10, H 17, J 18, W 32, Z 33, I 34, O 35): not the
# alphabet's order.
_TW_LETTERS = "ABCDEFGHJKLMNPQRSTUVXYWZIO"


def _mod11_digit(digits: Sequence[int], weights: Sequence[int]) -> int:
    """The check digit of Brazil's CPF and CNPJ over `digits` with `weights`."""
    total = sum(d * w for d, w in zip(digits, weights, strict=True)) % 11
    return 0 if total < 2 else 11 - total


_CNPJ_WEIGHTS = (5, 4, 3, 2, 9, 8, 7, 6, 5, 4, 3, 2)


def id_number_valid(candidate: str) -> bool:
    """Whether `candidate` (an `ID_NUMBER` match) passes its kind's check digits."""
    compact = "".join(ch for ch in candidate if ch.isalnum()).upper()
    if re.fullmatch(_SNILS, candidate):  # Russia, before the CPF of the same digits
        return snils_valid(compact)
    if len(compact) == 11 and compact.isdigit():  # CPF
        d = [int(c) for c in compact]
        if len(set(d)) == 1:
            return False
        return (
            _mod11_digit(d[:9], range(10, 1, -1)) == d[9] and _mod11_digit(d[:10], range(11, 1, -1)) == d[10]
        )
    if len(compact) == 14 and compact.isdigit():  # CNPJ
        d = [int(c) for c in compact]
        if len(set(d)) == 1:
            return False
        return (
            _mod11_digit(d[:12], _CNPJ_WEIGHTS) == d[12]
            and _mod11_digit(d[:13], (6, *_CNPJ_WEIGHTS)) == d[13]
        )
    if len(compact) == 18 and compact[:17].isdigit():  # China, ISO 7064 MOD 11-2
        total = sum(int(c) * (2 ** (17 - i) % 11) for i, c in enumerate(compact[:17]))
        return "10X98765432"[total % 11] == compact[17]
    if len(compact) == 9 and compact[-1].isalpha():  # Spain
        body = compact[:-1]
        if body[0] in "XYZ":
            body = str("XYZ".index(body[0])) + body[1:]
        return body.isdigit() and _DNI_LETTERS[int(body) % 23] == compact[-1]
    if len(compact) == 16 and compact.isdigit():  # Indonesia
        return nik_valid(compact)
    if len(compact) == 16 and re.fullmatch(_CODICE_FISCALE, compact):  # Italy
        return _codice_fiscale_valid(compact)
    if len(compact) == 10 and compact[0].isalpha() and compact[1:].isdigit():  # Taiwan
        return _taiwan_id_valid(compact)
    if len(compact) == 13 and compact.isdigit() and candidate[6:7] == "-":  # Korea
        return korean_rrn_valid(compact)
    if len(compact) == 9 and compact.isdigit() and candidate.count("-") == 2:  # US SSN
        area, group, serial = compact[:3], compact[3:5], compact[5:]
        return area not in ("000", "666") and area[0] != "9" and group != "00" and serial != "0000"
    return False


# The provinces' codes a NIK starts with (BPS): Sumatra 11-19 and 21, Java and Bali 31-36 and 51, Nusa
# Tenggara 52-53, Kalimantan 61-65, Sulawesi 71-76, Maluku 81-82, Papua 91-96.
_NIK_PROVINCES = frozenset(
    [*range(11, 20), 21, *range(31, 37), *range(51, 54), *range(61, 66), *range(71, 77), 81, 82]
    + list(range(91, 97))
)


def nik_valid(digits: str) -> bool:
    """Whether 16 digits read as an Indonesian NIK: a province's code, regency and district codes other than
    00, a day of birth 1-31 (41-71 for a woman) and a month 1-12, and a serial other than 0000."""
    if len(digits) != 16 or not digits.isdigit():
        return False
    day, month = int(digits[6:8]), int(digits[8:10])
    return (
        int(digits[:2]) in _NIK_PROVINCES
        and digits[2:4] != "00"
        and digits[4:6] != "00"
        and (1 <= day <= 31 or 41 <= day <= 71)
        and 1 <= month <= 12
        and digits[12:] != "0000"
    )


def _cf_even(char: str) -> int:
    return int(char) if char.isdigit() else ord(char) - ord("A")


def _codice_fiscale_valid(compact: str) -> bool:
    """Whether an upper-case codice fiscale has its check letter and a day of the month (plus 40)."""
    day = int(compact[9:11].translate(_CF_OMOCODIA))
    if not (1 <= day <= 31 or 41 <= day <= 71):
        return False
    total = sum(_CF_ODD[ch] if i % 2 == 0 else _cf_even(ch) for i, ch in enumerate(compact[:15]))
    return chr(ord("A") + total % 26) == compact[15]


def _taiwan_id_valid(compact: str) -> bool:
    """Whether an upper-case Taiwanese ID has its check digit: the letter's value's tens, its units times 9
    and the digits times 8, 7, …, 1, 1 add up to a multiple of 10."""
    if compact[0] not in _TW_LETTERS:
        return False
    tens, units = divmod(_TW_LETTERS.index(compact[0]) + 10, 10)
    weights = (8, 7, 6, 5, 4, 3, 2, 1, 1)
    total = tens + units * 9 + sum(int(d) * w for d, w in zip(compact[1:], weights, strict=True))
    return total % 10 == 0


_KR_RRN_WEIGHTS = (2, 3, 4, 5, 6, 7, 8, 9, 2, 3, 4, 5)


def korean_rrn_valid(digits: str, *, check: bool = True) -> bool:
    """Whether 13 digits are a Korean resident (or foreigner) registration number: a date of birth in the
    century its 7th digit (1-8) says, and with `check` its check digit (11 less the weighted sum modulo 11; 13
    less it on a foreigner's)."""
    if len(digits) != 13 or not digits.isdigit() or digits[6] not in "12345678":
        return False
    century = 1900 if digits[6] in "1256" else 2000
    try:
        date(century + int(digits[:2]), int(digits[2:4]), int(digits[4:6]))
    except ValueError:
        return False
    if not check:
        return True
    total = sum(int(d) * w for d, w in zip(digits[:12], _KR_RRN_WEIGHTS, strict=True))
    return ((13 if digits[6] in "5678" else 11) - total % 11) % 10 == int(digits[12])


def snils_valid(digits: str) -> bool:
    """Whether 11 digits are a SNILS: the first nine, weighted 9 down to 1, add up to its last two modulo 101
    (100 and 101 give 00). Numbers up to 001-001-998 were never issued, and have no check."""
    if len(digits) != 11 or not digits.isdigit() or int(digits[:9]) <= 1001998:
        return False
    total = sum(int(d) * (9 - i) for i, d in enumerate(digits[:9])) % 101
    return (0 if total == 100 else total) == int(digits[9:])


# Italy's Partita IVA, the tax number of a business: it names the person behind a sole trader's business (a
# customer asking about an invoice), and a company's codice fiscale is the same number; but it is 11 digits
# whose check digit is Luhn's, which one number in ten passes, so an order number would pass too. Only after
# its label then ("P.IVA 00743110157", "partita IVA: IT00743110157"), as no order number is written, and
# redacted as an ID number.
PARTITA_IVA = re.compile(
    "(?i)(?<!" + _W + ")(?:p\\.?\\s?i\\.?v\\.?a\\.?|partita\\s+i\\.?v\\.?a\\.?)"
    "(?:\\s*(?:[:=]|n\\.|nr\\.?|n°|è|is))?\\s*((?:IT)?\\d{11})(?![.,/-]?" + _W + ")"
)


def partita_iva_valid(digits: str) -> bool:
    """Whether 11 digits are a Partita IVA: its Luhn check digit and a tax office's code (001-100, 120, 121,
    888, 999) in the 8th-10th."""
    if len(digits) != 11 or not digits.isdigit():
        return False
    office = int(digits[7:10])
    if not (1 <= office <= 100 or office in (120, 121, 888, 999)):
        return False
    total = 0
    for position, char in enumerate(digits):
        value = int(char) * (2 if position % 2 else 1)
        total += value - 9 if value > 9 else value
    return total % 10 == 0


def partita_iva_spans(text: str) -> list[tuple[int, int]]:
    """Where `text` (already `fold`ed) holds a Partita IVA after its label: the number, without the label."""
    return [match.span(1) for match in PARTITA_IVA.finditer(text) if partita_iva_valid(match.group(1)[-11:])]


# An EU VAT identification number after its label ("our VAT ID is DE287654321", "USt-IdNr.: DE 287 654 321",
# "BTW NL123456789B01", "n° TVA FR40303265045"): a sole trader's names the person, and an invoicing trial's
# customer typed one that reached the export as written. Its country prefix, then the digits (and letters)
# VIES gives that country, spaces or dots between the digits allowed; only after the label, as a Partita IVA,
# whatever its check digits: a bare "DE287654321" could be any reference, and no order number has the label.
# GB and XI (Northern Ireland) have the same form. Redacted as an ID number.
_VAT_LABEL = (
    r"(?:vat(?:[ \t-]*(?:id|identification|reg(?:istration|\.)?))?(?:[ \t-]*(?:number|num\.?|no\.?|nr\.?|#))?"
    r"|tax[ \t-]*id(?:entification)?(?:[ \t-]*(?:number|no\.?))?"
    r"|ust[ \t.-]*id(?:[ \t.-]*nr)?\.?|umsatzsteuer[ \t-]*identifikationsnummer"
    r"|uid(?:[ \t-]*(?:nummer|nr\.?))?"
    r"|tva(?:[ \t]+intracommunautaire)?|nif(?:[ \t]*/[ \t]*cif)?(?:[ \t-]*iva)?|cif"
    r"|btw(?:[ \t-]*(?:id|nummer|nr\.?))?|p\.?[ \t]?i\.?v\.?a\.?|partita[ \t]+i\.?v\.?a\.?|iva)"
)


def _digits(low: int, high: int | None = None) -> str:
    """`low` to `high` digits, a space or a dot between two of them ("287 654 321", "0123.456.789")."""
    count = f"{low - 1}" if high is None else f"{low - 1},{high - 1}"
    return "\\d(?:[ .]?\\d){" + count + "}"


_UK_VAT = "(?:" + _digits(12) + "|" + _digits(9) + "|GD\\d{3}|HA\\d{3})"
_VAT_NUMBERS = {
    "AT": "U" + _digits(8),
    "BE": "[01]" + _digits(9),
    "BG": _digits(9, 10),
    "CY": _digits(8) + "[A-Z]",
    "CZ": _digits(8, 10),
    "DE": _digits(9),
    "DK": _digits(8),
    "EE": _digits(9),
    "EL": _digits(9),
    "GR": _digits(9),
    "ES": "[A-Z0-9]" + _digits(7) + "[A-Z0-9]",
    "FI": _digits(8),
    "FR": "[A-HJ-NP-Z0-9]{2}[ .]?" + _digits(9),
    "HR": _digits(11),
    "HU": _digits(8),
    "IE": "(?:\\d{7}[A-W][A-I]?|\\d[A-Z+*]\\d{5}[A-W])",
    "IT": _digits(11),
    "LT": "(?:" + _digits(12) + "|" + _digits(9) + ")",
    "LU": _digits(8),
    "LV": _digits(11),
    "MT": _digits(8),
    "NL": _digits(9) + "[ .]?B[ .]?\\d{2}",
    "PL": _digits(10),
    "PT": _digits(9),
    "RO": _digits(2, 10),
    "SE": _digits(12),
    "SI": _digits(8),
    "SK": _digits(10),
    "GB": _UK_VAT,
    "XI": _UK_VAT,  # Northern Ireland's, in the United Kingdom's format
}
EU_VAT_ID = re.compile(
    "(?i)(?<!" + _W + ")" + _VAT_LABEL + "(?:[ \t]*(?:[:=#]|is|ist|est|es|è|n°|no\\.|nr\\.))?[ \t]*"
    # The country prefix in capitals: "IVA de 100.000.000" is an amount, not Germany's number.
    "((?:" + "|".join(f"(?-i:{country})[ ]?{number}" for country, number in _VAT_NUMBERS.items()) + "))"
    "(?![.,/-]?" + _W + ")"
)


def eu_vat_id_spans(text: str) -> list[tuple[int, int]]:
    """Where `text` (already `fold`ed) holds an EU VAT identification number after its label: the number,
    without the label."""
    return [match.span(1) for match in EU_VAT_ID.finditer(text)]


# Russia's taxpayer number (ИНН) after its label ("ИНН 500100732259", "ИНН/КПП 7707083893/773601001"): a
# person's (a sole trader's too) has 12 digits and two check digits, a company's 10 and one. Checked after a
# Russian trial: "ИНН 7707083893" was redacted as a phone number, and a 12-digit one went through. Only after
# the label, as a Partita IVA: a check digit modulo 11 passes about one order number in ten.
INN = re.compile(
    "(?i)(?<!" + _W + ")инн(?:[ \t]*/[ \t]*кпп)?(?:[ \t]*(?:№|номер))?[ \t]*(?:[:=—–-][ \t]*)?"
    "(\\d{12}|\\d{10})(?!" + _W + ")"
)
_INN_WEIGHTS = (3, 7, 2, 4, 10, 3, 5, 9, 4, 6, 8)


def inn_valid(digits: str) -> bool:
    """Whether 10 or 12 digits are an INN: each check digit is the digits before it, weighted by the last of
    3, 7, 2, 4, 10, 3, 5, 9, 4, 6, 8, modulo 11 and 10 (a 10-digit one's weights start at the 2)."""
    if len(digits) not in (10, 12) or not digits.isdigit():
        return False
    checks = (9,) if len(digits) == 10 else (10, 11)
    return all(
        sum(int(d) * w for d, w in zip(digits[:n], _INN_WEIGHTS[-n:], strict=True)) % 11 % 10
        == int(digits[n])
        for n in checks
    )


# Ukraine's taxpayer number (РНОКПП, which customers still call ІПН, "ідентифікаційний код"): ten digits, the
# first five the date of birth as days since 1900, and a check digit; a phone number has ten digits too, so
# only after its label ("мій ІПН 3012345678", "РНОКПП: 3012345678"), where it was redacted as a phone number.
UKRAINIAN_TAX_NUMBER = re.compile(
    "(?i)(?<!" + _W + ")(?:іпн|інн|рнокпп|ідентифікаційн(?:ий|ого)[ \t]+(?:код|номер)"
    "|податков(?:ий|ого)[ \t]+(?:код|номер))(?:[ \t]*(?:№|номер))?[ \t]*(?:[:=—–-][ \t]*)?"
    "(\\d{10})(?![.,-]?" + _W + ")"
)


# Israel's identity number (מספר זהות, on the תעודת זהות): nine digits, the leading zeros often left out,
# whose last is a check digit (Luhn's) that one number in ten passes; an Israeli operator's trial's customers
# give it to be identified ("ת"ז 039337423"), and it went through. Only after its label, in Hebrew (with
# gershayim, a quote or a dot, or none: "ת״ז", "ת\"ז", "ת.ז.", "תז") or in Latin letters.
ISRAELI_ID = re.compile(
    "(?i)(?<!" + _W + ")(?:[ובלה]{1,2})?(?:ת[\"'״׳.]?[ \t]?ז\\.?|(?:תעודת|מספר|מס['׳.]?)[ \t]*(?:ה)?זהות"
    "|teudat[ \t]+zehut|t\\.z\\.?)(?:[ \t]+(?:שלי|שלו|שלה|שלנו|של(?:[ \t]+[\u05d0-\u05ea]+){1,2}))?"
    "[ \t]*(?:(?:היא|הוא|זה)[ \t]*)?(?:(?::|=|-|–)[ \t]*)?(\\d{5,9})(?![.,-]?" + _W + ")"
)


# A Korean resident (or foreigner) registration number after its label ("주민번호 900101-1234568",
# "외국인등록번호: 9001015234561"), with or without its hyphen. Numbers issued since October 2020 end in
# random digits, which pass the check one time in ten: there only the date of birth and the 7th digit count.
KOREAN_RRN = re.compile(
    "(?:주민\\s?(?:등록\\s?)?번호|외국인\\s?(?:등록\\s?)?번호)[ \t]*(?:(?:은|는|이|가|:|=)[ \t]*)?"
    "(\\d{6}[- ]?[1-8]\\d{6})(?![.,-]?" + _W + ")"
)


# A SNILS after its label ("снилс 112-233-445 95", "СНИЛС: 11223344595"), in any grouping and whatever its
# check digits: a Russian trial's customers wrote theirs so, and the label says what the digits are.
SNILS = re.compile(
    "(?i)(?<!" + _W + ")(?:снилс|snils)(?:[ \t]*(?:№|номер|n\\.|no\\.))?[ \t]*(?:[:=—–-][ \t]*)?"
    "(\\d{3}[- ]?\\d{3}[- ]?\\d{3}[- ]?\\d{2})(?![.,-]?" + _W + ")"
)


# A passport number after its label. A Russian trial's "паспорт 4512 345678" (the series, then the number)
# was redacted as a phone number, and one written otherwise ("серия и номер 45 12 345678", "загранпаспорт 75
# 1234567") or in another language ("passport no. 533380006", "护照号 E12345678") went through. Passport
# numbers have no check digit one can rely on, and their shapes are any code's: only after the label, and
# only as Russia's series and number or 6-9 letters and digits, five of them digits ("passport photo 35x45"
# stays).
_PASSPORT_LABEL = (
    "(?:(?:загран)?паспорт(?:а|ные[ \t]+данные|ні[ \t]+дані|[ \t]+рф)?"
    "(?:[ \t]+сер(?:[иі]я|ії)(?:[ \t]+[иі][ \t]+номер)?)?"
    "|серия[ \t]+и[ \t]+номер(?:[ \t]+паспорта)?"
    "|закордонн(?:ий|ого)[ \t]+паспорт(?:а)?|id[- \t]?карт(?:к)?(?:а|и|у)"
    "|passport|reisepass|passnummer|pass-nr\\.?|passeport|pasaporte|passaporto|passaporte|paspoort"
    "|护照|護照|パスポート|旅券|여권|(?:מספר[ \t]+)?דרכון)"
)
_PASSPORT_NUMBER_WORD = (
    "(?:№|#|no\\.?|nr\\.?|n[°º]|number|nummer|numéro|numero|número|номер|号码|號碼|号|號|番号|번호)"
)
PASSPORT = re.compile(
    "(?i)(?<!" + _W + ")" + _PASSPORT_LABEL + "(?:[ \t]*" + _PASSPORT_NUMBER_WORD + ")?"
    "[ \t]*(?:(?::|=|—|–|-|is|ist|est|es|é|è|是|は|는|은)[ \t]*)?"
    "(\\d{2}[ \t]?\\d{2}[ \t]*(?:(?:номер|№)[ \t]*)?\\d{6}|\\d{2}[ \t]?\\d{7}"
    "|(?-i:[А-ЯҐЄІЇ]{2}|[A-Z]{2})[ \t]*(?:№[ \t]*)?\\d{6}"
    "|(?=(?:[A-Za-z]*\\d){5})[A-Za-z0-9]{6,9})(?![.,-]?" + _W + ")"
)


# Whose a number is, written between an Indonesian label and the number ("no KTP saya: …", "rek BCA gw …").
_ID_WHOSE = "(?:saya|aku|ku|gw|gue|sy|anda|kamu|nya)"
# A NIK after its label ("NIK 3174012501900003", "no KTP saya: 3174 0125 0190 0003"), in any grouping: the
# label says what the digits are.
NIK = re.compile(
    "(?i)(?<!" + _W + ")(?:nik|(?:no\\.?|nomor|nomer|nmr)?[ \t]*e?-?ktp|nomor[ \t]+induk[ \t]+kependudukan)"
    "(?:[ \t]+" + _ID_WHOSE + ")?[ \t]*(?:(?::|=|-|adalah)[ \t]*)?"
    "(\\d{4}(?:[ .-]?\\d{4}){3}|\\d{6}[ .-]\\d{6}[ .-]\\d{4})(?![.,-]?" + _W + ")"
)


def labelled_id_spans(text: str) -> list[tuple[int, int]]:
    """Where `text` (already `fold`ed) holds an ID number that counts as one only after its label: a Partita
    IVA, an EU VAT ID or an INN, a Korean registration number or a SNILS failing its check digits, a passport
    number, an Indonesian NIK. The number, without the label."""
    out = partita_iva_spans(text)
    # "P.IVA IT00743110157" is both a Partita IVA and a VAT ID: one span.
    out += [span for span in eu_vat_id_spans(text) if span not in out]
    out += [
        match.span(1)
        for match in KOREAN_RRN.finditer(text)
        if korean_rrn_valid(match.group(1).replace("-", "").replace(" ", ""), check=False)
    ]
    out += [match.span(1) for match in SNILS.finditer(text)]
    out += [match.span(1) for match in PASSPORT.finditer(text)]
    out += [match.span(1) for match in NIK.finditer(text)]
    out += [match.span(1) for match in INN.finditer(text) if inn_valid(match.group(1))]
    out += [match.span(1) for match in UKRAINIAN_TAX_NUMBER.finditer(text)]
    out += [match.span(1) for match in ISRAELI_ID.finditer(text)]
    return sorted(out)


def id_number_spans(text: str) -> list[tuple[int, int]]:
    """Where `text` (already `fold`ed) holds a national identity number (`ID_NUMBER`) or one after its label
    (`labelled_id_spans`)."""
    out = [match.span() for match in ID_NUMBER.finditer(text) if id_number_valid(match.group())]
    return sorted(out + labelled_id_spans(text))


# A Korean bank account number after the bank's name or a label ("국민은행 123456-01-234567 으로
# 환불해주세요", "환불 계좌: 신한 110-123-456789", "계좌번호 3333012345678"): a Korean trial's customer gave
# one for a refund, and the export kept it. Korea has no IBAN, and each bank numbers accounts its own way
# (10-14 digits, in groups or not) with no check digit that all share; without the bank or the label the
# digits are any number. A bank's name ends in 은행 or 뱅크, or is one of the short names customers write;
# not 우리, 하나 or 기업 alone ("we", "one", "company"), nor 우체국, the post office, whose parcels' tracking
# numbers are written after it ("우체국 6070-1234-5678"; its account is "우체국 계좌").
_KR_BANK = "(?:[가-힣]{0,6}(?:은행|뱅크)|국민|신한|농협|새마을금고|신협|수협|축협|카뱅|케뱅)"
_KR_ACCOUNT_LABEL = "(?:계좌|통장)(?:[ \t]?번호)?"
_KR_ACCOUNT_WORD = "(?:" + _KR_BANK + "|" + _KR_ACCOUNT_LABEL + ")"
KOREAN_BANK_ACCOUNT = re.compile(
    _KR_ACCOUNT_WORD + "(?:[ \t]*" + _KR_ACCOUNT_WORD + ")*[ \t]*(?:(?:은|는|이|가|:|=)[ \t]*)?"
    "(\\d{2,6}(?:[- ]\\d{2,8}){1,3}|\\d{10,14})(?![.,-]?" + _W + ")"
)


# An Indonesian bank account number after the bank's name or a label ("refund ke rekening BCA 1234567890",
# "no rek BRI 0123-01-012345-50-1", "norek mandiri saya 1230001234567"): an Indonesian e-wallet's trial's
# customer gave one for a refund, and the export kept it. Indonesia has no IBAN either, and its banks number
# accounts their own way (BCA and BNI 10 digits, Mandiri 13, BRI 15 in groups of 4-2-6-2-1). A bank is one of
# the names customers write (alone or after "bank"), or "bank" and a word ("bank jatim"); a label is "rek",
# "rekening", "norek", "no rek", "nomor rekening" or "account number". Not the amount that follows ("rekening
# BCA Rp1.000.000"), nor an order's or a transaction's number, which has its own label.
_ID_BANK = (
    "(?:bank[ \t]+)?(?:bca|bri|bni|mandiri|bsi|btn|btpn|cimb(?:[ \t]+niaga)?|permata|danamon|jenius|seabank"
    "|ocbc(?:[ \t]+nisp)?|maybank|panin|muamalat|bjb|jago)|bank[ \t]+[a-z]+"
)
_ID_ACCOUNT_LABEL = "(?:no\\.?|nomor|nomer|nmr)?[ \t]*rek(?:ening)?\\.?|norek|account[ \t]+(?:number|no\\.?)"
_ID_ACCOUNT_WORD = "(?:" + _ID_BANK + "|" + _ID_ACCOUNT_LABEL + ")"
INDONESIAN_BANK_ACCOUNT = re.compile(
    "(?i)(?<!" + _W + ")" + _ID_ACCOUNT_WORD + "(?:[ \t]+" + _ID_ACCOUNT_WORD + ")*"
    "(?:[ \t]+(?:" + _ID_WHOSE + "|tujuan|penerima))?[ \t]*(?:(?::|=|adalah)[ \t]*)?"
    "(\\d{2,6}(?:[- ]\\d{1,8}){1,4}|\\d{10,16})(?![.,-]?" + _W + ")"
)


def bank_account_spans(text: str) -> list[tuple[int, int]]:
    """Where `text` (already `fold`ed) holds a Korean (10-14 digits) or an Indonesian (10-16 digits) bank
    account number after the bank's name or a label (`KOREAN_BANK_ACCOUNT`, `INDONESIAN_BANK_ACCOUNT`): the
    number, without the name or the label."""
    out = []
    for pattern, most in ((KOREAN_BANK_ACCOUNT, 14), (INDONESIAN_BANK_ACCOUNT, 16)):
        for match in pattern.finditer(text):
            if 10 <= sum(ch.isdigit() for ch in match.group(1)) <= most:
                out.append(match.span(1))
    return sorted(out)


# Chinese chat IDs, after their label: a QQ number (5-11 digits, never a leading 0) and a WeChat ID (6-20
# letters, digits, "_" or "-", a letter first; or the "wxid_…" the app gives). A Chinese trial's customers
# wrote "QQ号 123456789", "我的QQ是123456789", "qq: 12345678", "我的微信是 zhangwei_1990",
# "微信号：wxid_abc123" and "WeChat: zhang_wei88", and the export kept them. Only after the label, as the
# value alone is any number or word; a label joined to a word is a product ("微信支付", "QQ音乐"). A Latin
# label ends at a word's end ("QQ123456" is a code); a CJK one may have the value at once ("QQ号123456789").
_CHAT_SEP = "[ \t]*(?:(?:是|为|:|=)[ \t]*)?"
_QQ_LABEL = f"(?:(?<!{_W})(?i:qq)(?:号码?|(?:[ \t]*(?i:number|no\\.|id))?(?!{_W}))|扣扣(?:号码?)?)"
QQ_NUMBER = re.compile(_QQ_LABEL + _CHAT_SEP + "([1-9]\\d{4,10})(?!" + _W + "|[.,]\\d)")
_WECHAT_LABEL = (
    f"(?:微信(?:号|(?i:id)(?!{_W}))?|(?<!{_W})(?:(?i:wechat|weixin)(?:[ \t]*(?i:id))?|(?i:vx))(?!{_W}))"
)
_WECHAT_VALUE = "(wxid_[A-Za-z0-9_-]{1,30}|[A-Za-z][A-Za-z0-9_-]{5,19})"
WECHAT_ID = re.compile(_WECHAT_LABEL + "(" + _CHAT_SEP + ")" + _WECHAT_VALUE + "(?!" + _W + "|-)")


_PLATFORM = re.compile(
    r"(?i:android|ios|iphone|ipad|ipados|macos|mac|windows|win|harmonyos|huawei|xiaomi|pc)\d"
)


def _wechat_id_taken(separator: str, value: str) -> bool:
    """Whether `value`, after a WeChat label and `separator`, is an ID: one with a digit or an underscore
    (most are: "zhangwei_1990", "wxid_abc123"). Words follow the label too: "WeChat Official Accounts",
    "微信 account 被封了", "我用的微信是 android 版的"; an ID of letters alone ("我的微信是 zhangwei") is
    left as written."""
    # Letters alone are no ID even after "是": "我用的微信是 android 版的" lost "android" to <HANDLE>. Nor is
    # a platform's name and version ("微信 iPhone15 闪退", "WeChat android14 crash").
    if _PLATFORM.match(value):
        return False
    if not separator.strip() and any(ch.isupper() for ch in value):
        return False
    return any(ch.isdigit() or ch == "_" for ch in value)


def chat_id_spans(text: str) -> list[tuple[int, int]]:
    """Where `text` (already `fold`ed) holds a QQ number or a WeChat ID after its label: the value, without
    the label."""
    out = [match.span(1) for match in QQ_NUMBER.finditer(text)]
    out += [m.span(2) for m in WECHAT_ID.finditer(text) if _wechat_id_taken(m.group(1), m.group(2))]
    return sorted(out)


# A phone number as customers write one into a question ("(11) 98765-4321", "+55 11 98765-4321",
# "13812345678"): digit groups joined by spaces, dashes or brackets (`phone_like_spans` counts the digits), or
# a bare run of 10-15. Italians write a prefix and the rest in one group ("333 1234567", "06 12345678", "+39
# 333 1234567"), longer than the groups of five that other numbers are read in: an Italian trial's number was
# searched, and pulled an unrelated section to rank 1. Tried first: groups of five would take "+39 333" alone.
# Only an Italian prefix (a landline's 0…, a mobile's 3..) starts that shape: "fattura 2024 1234567" and
# "build 1234 567890" are no phone numbers.
# Only for leaving the customer's number out of a search (`bot.kb.analysis.personal_spans`); the redactor
# judges numbers with `phonenumbers` and each region's rules.
_PHONE_START = "(?<![.,+\\-/])(?<!" + _W + ")"
_PHONE_END = "(?![.,\\-/]?" + _W + ")"
_PHONE_LIKE = re.compile(
    _PHONE_START
    + "(?:(?:\\+\\s?\\d{1,3}[\\s-]{1,2})?(?:0\\d{1,3}|3\\d{2})[\\s-]{1,2}\\d{6,8}"
    + "|\\+\\s?\\d{1,3}[\\s-]{1,2}\\d{6,12})"
    + _PHONE_END
    + "|"
    + _PHONE_START
    + "(?:\\+\\s?)?(?:\\(\\d{2,4}\\)|\\d{2,5})(?:[\\s-]{1,2}\\d{2,5}){1,4}"
    + _PHONE_END
    + "|"
    + _PHONE_START
    + "\\d{10,15}"
    + _PHONE_END
)
_DATE = re.compile(r"\d{4}-\d{1,2}-\d{1,2}|\d{1,2}-\d{1,2}-\d{2,4}")


_YEARS = re.compile(r"(?:19|20)\d\d(?:[\s-]+(?:19|20)\d\d)+")


def phone_like_spans(text: str) -> list[tuple[int, int]]:
    """Where `text` (already `fold`ed) holds what is written as a phone number (`_PHONE_LIKE`): 9 to 15
    digits, or 8 with a country code or an area code in brackets; not dates, nor years ("2024-2025"), nor
    two port numbers ("8080 8443"). A dash between digits is read as a hyphen (`phone_fold`)."""
    text = _hyphenated(text)
    out = []
    for match in _PHONE_LIKE.finditer(text):
        found = match.group()
        digits = sum(ch.isdigit() for ch in found)
        enough = digits >= 9 or (digits == 8 and ("+" in found or "(" in found))
        if enough and digits <= 15 and not _DATE.fullmatch(found) and not _YEARS.fullmatch(found):
            out.append(match.span())
    return out


class _Folding(dict[int, int]):
    """The `str.translate` table of `fold`, filled as characters are met."""

    def __missing__(self, code: int) -> int:
        char = chr(code)
        folded = code
        if unicodedata.decomposition(char).startswith("<wide>"):
            # NFKC of a full-width form; the few it makes two characters of (U+FFE3, a macron) stay.
            normal = unicodedata.normalize("NFKC", char)
            folded = ord(normal) if len(normal) == 1 else code
        elif char.isdecimal():
            folded = ord(str(unicodedata.decimal(char)))
        self[code] = folded
        return folded


_FOLDING = _Folding()


def fold(text: str) -> str:
    """`text` as the patterns read it: full-width forms (and the ideographic space) as their ASCII
    characters, every decimal digit as an ASCII digit, as CJK keyboards type "４１１１ １１１１…",
    "ｗａｎｇ＠ｑｑ．ｃｏｍ" and "０３－１２３４－５６７８". One character for one, so a span found in
    the folded text is the same span of the text, whose other characters are kept as written. Not all of
    NFKC: it also makes "10²" "102" and "①" "1", which no one writes a number with."""
    return text if text.isascii() else text.translate(_FOLDING)


# What customers type between a phone number's digits in place of a hyphen: the katakana long-vowel mark,
# which a Japanese IME gives for "-" in kana mode (「090ー1234ー5678」 and 「０８０ー１２３４ー５６７８」
# reached a Japanese trial's export, where "090-1234-5678" did not), its half-width form, the hyphens and
# dashes of U+2010-2015 (which editors and phone keyboards put in) and the minus sign some input methods
# give. `fold` makes the full-width hyphen-minus (U+FF0D) one already. Only between two digits: "ラーメン"
# keeps its mark.
_DIGIT_DASH = re.compile("(?<=\\d)[\u2010-\u2015\u2212\u30fc\uff70](?=\\d)")


def _hyphenated(text: str) -> str:
    return text if text.isascii() else _DIGIT_DASH.sub("-", text)


def phone_fold(text: str) -> str:
    """`text` as the phone matchers read it: `fold`ed, and a dash between two digits a hyphen
    ("０８０ー１２３４ー５６７８" is "080-1234-5678"). One character for one, as `fold`."""
    return _hyphenated(fold(text))


def spans(text: str) -> list[tuple[int, int]]:
    """Where `text` holds an email address, an IBAN, a national identity number, a bank account number after
    the bank's name or a label, or a QQ number or WeChat ID after its label, as the redactor finds them
    (full-width too)."""
    text = fold(text)
    out = [match.span() for match in EMAIL.finditer(text)]
    out += id_number_spans(text)
    out += bank_account_spans(text)
    out += chat_id_spans(text)
    pos = 0
    while (match := IBAN.search(text, pos)) is not None:
        length = iban_span(match.group())
        if length:
            out.append((match.start(), match.start() + length))
            pos = match.start() + length
        else:
            pos = match.start() + 1  # the real IBAN may start inside this candidate
    return sorted(out)


__all__ = [
    "EMAIL",
    "IBAN",
    "ID_NUMBER",
    "INN",
    "INDONESIAN_BANK_ACCOUNT",
    "KOREAN_BANK_ACCOUNT",
    "KOREAN_RRN",
    "NIK",
    "PARTITA_IVA",
    "EU_VAT_ID",
    "PASSPORT",
    "QQ_NUMBER",
    "SNILS",
    "WECHAT_ID",
    "WORD_CHAR",
    "bank_account_spans",
    "chat_id_spans",
    "fold",
    "iban_span",
    "iban_valid",
    "id_number_spans",
    "id_number_valid",
    "inn_valid",
    "korean_rrn_valid",
    "labelled_id_spans",
    "nik_valid",
    "partita_iva_spans",
    "eu_vat_id_spans",
    "partita_iva_valid",
    "phone_fold",
    "phone_like_spans",
    "snils_valid",
    "spans",
]
