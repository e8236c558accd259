"""Generators of synthetic PII and of PII-free look-alikes, for the redaction corpus tests."""

from __future__ import annotations

import random
import string

import phonenumbers

TEMPLATES = (
    "{x}",
    "Hi, you can reach me at {x}.",
    "my details: {x}, thanks!",
    "Please use {x} for the refund",
    "({x})",
    "Contact — {x} — any time",
    "Я оставил {x} в заявке",
    "line one\n{x}\nline three",
)


def _luhn_complete(prefix: str, length: int, rng: random.Random) -> str:
    body = prefix + "".join(rng.choice(string.digits) for _ in range(length - len(prefix) - 1))
    for check in string.digits:
        digits = body + check
        total = 0
        for i, ch in enumerate(reversed(digits)):
            v = int(ch) * (2 if i % 2 else 1)
            total += v - 9 if v > 9 else v
        if total % 10 == 0:
            return digits
    raise AssertionError("unreachable")


def cards(n: int, rng: random.Random) -> list[str]:
    specs = [("4", 16), ("4", 13), ("51", 16), ("55", 16), ("2221", 16), ("34", 15), ("37", 15), ("6011", 16),
             ("65", 16), ("3530", 16), ("62", 19), ("36", 14)]  # fmt: skip
    out = []
    for i in range(n):
        prefix, length = specs[i % len(specs)]
        digits = _luhn_complete(prefix, length, rng)
        style = i % 3
        if style == 0:
            out.append(digits)
        elif length == 15:
            sep = " " if style == 1 else "-"
            out.append(sep.join((digits[:4], digits[4:10], digits[10:])))
        else:
            sep = " " if style == 1 else "-"
            out.append(sep.join(digits[j : j + 4] for j in range(0, length, 4)))
    return out


_IBAN_SPECS = {"DE": "8n10n", "GB": "4a14n", "FR": "10n11c2n", "ES": "20n", "NL": "4a10n", "IT": "1a10n12c",
               "BE": "12n", "CH": "5n12c", "AT": "16n", "PL": "24n"}  # fmt: skip


def _bban(spec: str, rng: random.Random) -> str:
    out = []
    import re

    for count, kind in re.findall(r"(\d+)([nac])", spec):
        alphabet = {
            "n": string.digits,
            "a": string.ascii_uppercase,
            "c": string.ascii_uppercase + string.digits,
        }[kind]
        out.append("".join(rng.choice(alphabet) for _ in range(int(count))))
    return "".join(out)


def ibans(n: int, rng: random.Random) -> list[str]:
    out = []
    countries = sorted(_IBAN_SPECS)
    for i in range(n):
        country = countries[i % len(countries)]
        bban = _bban(_IBAN_SPECS[country], rng)
        numeric = int("".join(str(int(ch, 36)) for ch in bban + country + "00"))
        iban = f"{country}{98 - numeric % 97:02d}{bban}"
        if i % 2:
            iban = " ".join(iban[j : j + 4] for j in range(0, len(iban), 4))
        out.append(iban)
    return out


def emails(n: int, rng: random.Random) -> list[str]:
    firsts = ["john", "maria", "li.wei", "o'brien", "anna-lena", "x", "support+tag", "jöhn", "user_42"]
    domains = ["example.com", "mail.co.uk", "sub.domain.org", "uni-bonn.de", "gmail.com", "firma.рф", "x.io"]
    out = []
    for i in range(n):
        local = rng.choice(firsts) + (str(rng.randint(1, 9999)) if i % 2 else "")
        out.append(
            f"{local}@{rng.choice(domains)}" if i % 5 else f"{local.upper()}@{rng.choice(domains).upper()}"
        )
    return out


def phones(
    n: int, rng: random.Random, regions: tuple[str, ...] = ("US", "GB", "DE", "FR", "IN")
) -> list[str]:
    kinds = (phonenumbers.PhoneNumberType.MOBILE, phonenumbers.PhoneNumberType.FIXED_LINE)
    formats = (
        phonenumbers.PhoneNumberFormat.E164,
        phonenumbers.PhoneNumberFormat.INTERNATIONAL,
        phonenumbers.PhoneNumberFormat.NATIONAL,
    )
    out: list[str] = []
    i = 0
    while len(out) < n:
        region = regions[i % len(regions)]
        example = phonenumbers.example_number_for_type(region, kinds[i % 2])
        national = str(example.national_number)
        for _ in range(100):
            candidate = national[:-4] + "".join(rng.choice(string.digits) for _ in range(4))
            number = phonenumbers.parse(candidate, region)
            if phonenumbers.is_valid_number(number):
                break
        else:
            i += 1
            continue
        fmt = formats[(i // len(regions)) % len(formats)]
        text = phonenumbers.format_number(number, fmt)
        if region == "US" and i % 7 == 0:
            digits = str(number.national_number)
            text = f"{digits[:3]}.{digits[3:6]}.{digits[6:]}"
        out.append(text)
        i += 1
    return out


def handles(n: int, rng: random.Random) -> list[str]:
    out = []
    for _ in range(n):
        length = rng.randint(5, 20)
        name = rng.choice(string.ascii_letters) + "".join(
            rng.choice(string.ascii_letters + string.digits + "_") for _ in range(length - 1)
        )
        out.append("@" + name)
    return out


def false_positive_corpus(rng: random.Random) -> list[str]:
    """Ordinary support text full of numbers that are not PII."""
    texts = [
        "Python 3.11.7 fixed it; 3.12.0rc1 and 2.7.18 did not.",
        "Upgrade from v1.2.3 to v10.20.30 (build 20231105).",
        "numpy==1.26.4, pandas>=2.2.0, torch 2.4.1+cu121",
        "Released on 2024-01-15, patched 15.01.2024, announced 01/15/2024.",
        "January 15, 2024 at 14:30, or 2:30 PM, or 14:30:15 UTC.",
        "The plan costs $1,299.99 per year, €49,90 per month, £7.50 or 1 299,00 ₽.",
        "Your order #4471 shipped; ORD-2024-001234 and INV-000123 are pending.",
        "Order 20240115001 was refunded (ticket 5551234).",
        "Uptime was 99.9% last month and 12.5 % of requests were cached.",
        "Listen on port 8080 or 127.0.0.1:5432; the IP is 192.168.1.1.",
        "ISBN 978-3-16-148410-0; DOI 10.1000/182.",
        "Chapter 4.2.1, page 123, lines 10-20.",
        "Use the @property decorator or @staticmethod, and @dataclass(frozen=True).",
        "Set timeout=30 and retries=5; batch size 1024, 4096 tokens.",
        "Error code 0x80070005 in module 42.",
    ]
    for _ in range(200):
        kind = rng.randrange(8)
        if kind == 0:
            texts.append(f"Python {rng.randint(2, 3)}.{rng.randint(0, 13)}.{rng.randint(0, 20)} is required")
        elif kind == 1:
            y, m, d = rng.randint(1990, 2030), rng.randint(1, 12), rng.randint(1, 28)
            texts.append(
                rng.choice([f"on {y}-{m:02d}-{d:02d}", f"on {d:02d}.{m:02d}.{y}", f"on {m:02d}/{d:02d}/{y}"])
            )
        elif kind == 2:
            texts.append(rng.choice(["$", "€", "£"]) + f"{rng.randint(1, 99999):,}.{rng.randint(0, 99):02d}")
        elif kind == 3:
            texts.append(f"order #{rng.randint(100, 999999)}")
        elif kind == 4:
            texts.append(f"ORD-{rng.randint(2015, 2030)}-{rng.randint(0, 999999):06d} is on its way")
        elif kind == 5:
            texts.append(f"at {rng.randint(0, 23):02d}:{rng.randint(0, 59):02d}:{rng.randint(0, 59):02d}")
        elif kind == 6:
            texts.append(f"{rng.randint(0, 100)}.{rng.randint(0, 9)}% of users")
        else:
            texts.append(f"version {rng.randint(0, 30)}.{rng.randint(0, 99)}.{rng.randint(0, 999)} released")
    return texts
