"""Redaction corpus: ≥200 generated samples per PII type, and zero hits on PII-free look-alikes."""

from __future__ import annotations

import random
from collections.abc import Callable

import pytest

from bot.config import RedactionSettings
from bot.store.redact import PLACEHOLDERS, Redactor, iban_valid, luhn_valid
from tests.conftest import PYTHON_FAQ, shared_data_available
from tests.store import pii

N = 250
KNOWN_IDS = [str(random.Random(i).randint(10_000_000, 7_999_999_999)) for i in range(N)]


def _embed(items: list[str]) -> list[tuple[str, str]]:
    return [(item, pii.TEMPLATES[i % len(pii.TEMPLATES)].format(x=item)) for i, item in enumerate(items)]


def _recall(redactor: Redactor, kind: str, items: list[str]) -> tuple[float, list[tuple[str, str]]]:
    misses = []
    for item, text in _embed(items):
        result = redactor.redact(text)
        if item in result.text or result.counts.get(kind) != 1 or sum(result.counts.values()) != 1:
            misses.append((text, result.text))
    return 1 - len(misses) / len(items), misses


GENERATORS: dict[str, Callable[[int, random.Random], list[str]]] = {
    "EMAIL": pii.emails,
    "CARD": pii.cards,
    "IBAN": pii.ibans,
    "HANDLE": pii.handles,
}


@pytest.mark.parametrize("kind", sorted(GENERATORS))
def test_every_generated_item_is_redacted(kind: str) -> None:
    items = GENERATORS[kind](N, random.Random(kind))
    assert len(set(items)) >= 200
    recall, misses = _recall(Redactor(), kind, items)
    assert recall == 1.0, misses[:5]


def test_phone_numbers_of_the_configured_regions() -> None:
    items = pii.phones(N, random.Random("phones"))
    assert len(set(items)) >= 200
    recall, misses = _recall(Redactor(), "PHONE", items)
    assert recall >= 0.98, misses[:10]


def test_phone_regions_are_configurable() -> None:
    japanese = "連絡先は 03-1234-5678 です"
    assert "<PHONE>" not in Redactor(RedactionSettings(phone_regions=["US"])).redact(japanese).text
    assert Redactor(RedactionSettings(phone_regions=["JP"])).redact(japanese).text == "連絡先は <PHONE> です"


def test_known_and_labelled_user_ids() -> None:
    redactor = Redactor(known_user_ids=KNOWN_IDS)
    items = [
        (uid, f"ban {uid} please" if i % 2 else f"forwarded from {uid}:") for i, uid in enumerate(KNOWN_IDS)
    ]
    for uid, text in items:
        result = redactor.redact(text)
        assert uid not in result.text, text
        assert result.counts == {"USER_ID": 1}, (text, result.text)
    unknown = Redactor()
    labelled = [
        "user id 123456789",
        "tg://user?id=987654321",
        "chat_id: 5550001234",
        "my telegram id is 4242424242",
    ]
    for text in labelled:
        result = unknown.redact(text)
        assert "<USER_ID>" in result.text, text
        assert result.counts == {"USER_ID": 1}, (text, result.text)
    # Without a label a bare number of unknown origin stays (it may be an order or a quantity).
    assert unknown.redact("we shipped 123456789 units").text == "we shipped 123456789 units"


def test_no_false_positives_on_ordinary_text() -> None:
    redactor = Redactor(known_user_ids=KNOWN_IDS[:5])
    corpus = pii.false_positive_corpus(random.Random("fp"))
    assert len(corpus) >= 200
    hits = [(text, redactor.redact(text).text) for text in corpus if redactor.redact(text).counts]
    assert hits == []


def test_invalid_checksums_are_not_redacted() -> None:
    redactor = Redactor()
    assert luhn_valid("4111111111111111")
    assert not luhn_valid("4111111111111112")
    assert redactor.redact("card 4111 1111 1111 1112").text == "card 4111 1111 1111 1112"
    assert iban_valid("DE89 3704 0044 0532 0130 00")
    assert not iban_valid("DE88 3704 0044 0532 0130 00")
    assert redactor.redact("IBAN DE88 3704 0044 0532 0130 00").counts.get("IBAN") is None


def test_mixed_text_counts_by_type_and_is_idempotent() -> None:
    redactor = Redactor(
        RedactionSettings(extra_patterns=[r"CUST-\d{6}", r"[A-Z]{5}"]), known_user_ids=["5551234567"]
    )
    text = (
        "I'm @alice_smith (user 5551234567), mail alice@example.org, call +44 20 7946 0958, "
        "card 4111-1111-1111-1111, IBAN GB82 WEST 1234 5698 7654 32, account CUST-004211. Python 3.11.7!"
    )
    first = redactor.redact(text)
    assert first.text == (
        "I'm <HANDLE> (user <USER_ID>), mail <EMAIL>, call <PHONE>, "
        "card <CARD>, IBAN <IBAN>, account <CUSTOM>. Python 3.11.7!"
    )
    assert first.counts == {
        "HANDLE": 1,
        "USER_ID": 1,
        "EMAIL": 1,
        "PHONE": 1,
        "CARD": 1,
        "IBAN": 1,
        "CUSTOM": 1,
    }
    second = redactor.redact(first.text)
    assert second.text == first.text
    assert not second.counts
    assert set(first.counts) <= set(PLACEHOLDERS)


def test_python_decorators_are_not_handles() -> None:
    text = "Use @property or @functools.wraps(f), and @dataclass(frozen=True); ping @support_team"
    assert Redactor().redact(text).text == (
        "Use @property or @functools.wraps(f), and @dataclass(frozen=True); ping <HANDLE>"
    )


def test_a_handle_written_against_cjk_text_is_redacted() -> None:
    # Chinese and Japanese write no space around it; a word of Latin letters before "@" is still no handle.
    assert Redactor().redact("请联系@support_team谢谢").text == "请联系<HANDLE>谢谢"
    assert Redactor().redact("サポートは@support_teamまで").text == "サポートは<HANDLE>まで"
    assert Redactor().redact("name@support_team").text == "name@support_team"


@pytest.mark.skipif(not shared_data_available(), reason="the Python FAQ is not beside the checkout")
def test_real_documentation_has_no_false_positives() -> None:
    """The Python FAQ is full of versions, hashes, code and URLs, and holds no personal data except two
    example email addresses (one in a URL's message id)."""
    redactor = Redactor()
    counts: dict[str, int] = {}
    for path in sorted(PYTHON_FAQ.glob("*.rst")):
        for kind, n in redactor.redact(path.read_text(encoding="utf-8")).counts.items():
            counts[kind] = counts.get(kind, 0) + n
    assert counts == {"EMAIL": 2}


@pytest.mark.parametrize(
    "text",
    [
        "text me on +44 7700 900123",  # a UK range the library holds reserved (for drama)
        "call me +1 555 123 4567",
        "my cell is 555-123-4567",
        "(555) 123-4567 after six",
    ],
)
def test_numbers_in_unassigned_ranges_are_redacted_when_written_as_phone_numbers(text: str) -> None:
    redacted = Redactor().redact(text)
    assert "<PHONE>" in redacted.text, redacted.text
    assert not any(ch.isdigit() for ch in redacted.text), redacted.text


@pytest.mark.parametrize("text", ["pi is 3.14159265", "ISBN 978-3-16-148410-0", "order 1234567 shipped"])
def test_other_digit_runs_are_left_alone(text: str) -> None:
    assert Redactor().redact(text).text == text


@pytest.mark.parametrize(
    ("text", "redacted"),
    [
        # CJK writes no spaces: the number touches the Han characters around it.
        ("我的银行卡号是4111111111111111，如何重置密码？", "我的银行卡号是<CARD>，如何重置密码？"),
        ("卡号4111-1111-1111-1111", "卡号<CARD>"),
        ("我的IBAN是DE89370400440532013000，谢谢", "我的IBAN是<IBAN>，谢谢"),
        ("カード番号は4111111111111111です", "カード番号は<CARD>です"),
        # The email is only its own characters, not the words written against it.
        ("邮箱wang.xm@qq.com谢谢", "邮箱<EMAIL>谢谢"),
        ("x@例子.中国", "<EMAIL>"),
        # A local part wholly in CJK, after a space: redacted as before.
        ("联系 张三@example.com 谢谢", "联系 <EMAIL> 谢谢"),
        ("用户名 用户@例子.中国", "用户名 <EMAIL>"),
        # Latin letters and digits around a number still make it part of a longer token.
        ("ref A4111111111111111", "ref A4111111111111111"),
        ("jane.doe@example.org.", "<EMAIL>."),
    ],
)
def test_pii_written_against_cjk_text_is_redacted(text: str, redacted: str) -> None:
    assert Redactor(RedactionSettings()).redact(text).text == redacted


@pytest.mark.parametrize(
    ("text", "redacted"),
    [
        # Found in a Brazilian shop's trial: the CPF reached the training export as written.
        ("meu cpf é 123.456.789-09, como faço pra cadastrar minha chave pix", "meu cpf é <ID_NUMBER>, como"),
        ("cpf 12345678909", "cpf <ID_NUMBER>"),
        ("CNPJ 11.222.333/0001-81", "CNPJ <ID_NUMBER>"),
        ("我的身份证号是11010519491231002X，怎么实名认证？", "我的身份证号是<ID_NUMBER>，怎么实名认证？"),
        ("mi DNI es 12345678Z", "mi DNI es <ID_NUMBER>"),
        ("NIE X1234567L", "NIE <ID_NUMBER>"),
        ("SSN 078-05-1120", "SSN <ID_NUMBER>"),
        # Chinese and Brazilian mobile numbers, in the default regions.
        ("我的手机是13812345678，订单号20231108", "我的手机是<PHONE>，订单号20231108"),
        ("meu numero é (11) 98765-4321", "meu numero é <PHONE>"),
    ],
)
def test_national_id_numbers_and_phones_where_our_customers_write_from(text: str, redacted: str) -> None:
    assert Redactor().redact(text).text.startswith(redacted)


@pytest.mark.parametrize(
    "text",
    [
        "cpf 123.456.789-08",  # a check digit off
        "CNPJ 11.222.333/0001-82",
        "身份证号 110105194912310021",
        "DNI 12345678A",
        "order 11111111111 shipped",  # eleven equal digits pass the CPF's arithmetic
        "SSN 000-12-3456",
        "ISBN 978-3-16-148410-0",
        "codice fiscale RSSMRA85T10A562T",  # the check letter off
        "codice fiscale RSSMRA85T35A562G",  # its check letter right, but born on the 35th
        "P.IVA 00743110158",  # the check digit off
        "ordine 00743110157 spedito",  # a Partita IVA's digits without its label: an order number
        "身分證 A123456788",  # the check digit off, after its label too (as China's above)
        "型號 A323456789",  # a Taiwanese ID's second digit is 1, 2, 8 or 9
        "掛號 EA123456789TW，預約編號R-482913",  # a parcel's tracking number holds a valid ID's shape
        "900101-1234567",  # a Korean number's check digit off, without its label
        "주문번호 9001011234568",  # a valid one's digits without the hyphen: an order number may start so
        "주민번호 991332-1234567",  # after its label, but born on no day
        "주민번호 900101-9234567 앞자리 900101",  # a 7th digit of none of 1-8; the date of birth alone
        "номер 112-233-445 96",  # a SNILS's check digits off, without its label
        "код 001-001-998 00",  # below the first SNILS issued
        "ИНН 500100732258",  # an INN's check digit off
        "заказ 500100732259 оплачен",  # an INN's digits without its label: an order number
    ],
)
def test_numbers_failing_their_id_check_digits_are_no_id_numbers(text: str) -> None:
    assert "<ID_NUMBER>" not in Redactor().redact(text).text


@pytest.mark.parametrize(
    ("text", "redacted"),
    [
        # Found in an Italian shop's trial: the codice fiscale reached the training export as written.
        (
            "il mio codice fiscale è RSSMRA85T10A562S, posso cambiare l'indirizzo?",
            "il mio codice fiscale è <ID_NUMBER>, posso cambiare l'indirizzo?",
        ),
        ("cf rssmra85t10a562s grazie", "cf <ID_NUMBER> grazie"),
        ("CF: BNCGNN80A41H501X", "CF: <ID_NUMBER>"),  # a woman's: her day of birth plus 40
        ("CF: RSSMRA85T10A56NH", "CF: <ID_NUMBER>"),  # "omocodia": its last digit written as a letter
        # A Partita IVA after its label (without one it is any 11-digit number).
        ("fattura alla P.IVA 00743110157, grazie", "fattura alla P.IVA <ID_NUMBER>, grazie"),
        ("Partita IVA: IT07643520567", "Partita IVA: <ID_NUMBER>"),
    ],
)
def test_italian_codice_fiscale_and_labelled_partita_iva(text: str, redacted: str) -> None:
    result = Redactor().redact(text)
    assert result.text == redacted
    assert result.counts == {"ID_NUMBER": 1}


@pytest.mark.parametrize(
    ("text", "redacted"),
    [
        # Found in a Taiwanese operator's trial: the national ID reached the training export as written.
        (
            "我的門號是0912345678，身分證A123456789，想改預約時間",
            "我的門號是<PHONE>，身分證<ID_NUMBER>，想改預約時間",
        ),
        ("身分證字號 a123456789", "身分證字號 <ID_NUMBER>"),  # the letter typed lower-case
        ("身份证 F131104093 可以吗", "身份证 <ID_NUMBER> 可以吗"),
        ("居留證號碼：A800000014", "居留證號碼：<ID_NUMBER>"),  # a resident certificate's, issued since 2021
        ("ＩＤ：Ａ１２３４５６７８９", "ＩＤ：<ID_NUMBER>"),
    ],
)
def test_taiwanese_national_id_by_its_check_digit(text: str, redacted: str) -> None:
    result = Redactor().redact(text)
    assert result.text == redacted
    assert result.counts["ID_NUMBER"] == 1


@pytest.mark.parametrize(
    ("text", "redacted"),
    [
        # Found in an Indonesian e-wallet's trial: the NIK (the KTP's number) reached the training export.
        (
            "nomor hp saya 081234567890, NIK 3174012501900003 tolong cek kenapa verifikasi ktp ditolak",
            "nomor hp saya <PHONE>, NIK <ID_NUMBER> tolong cek kenapa verifikasi ktp ditolak",
        ),
        ("NIK saya 3174012501900003", "NIK saya <ID_NUMBER>"),
        ("no ktp: 3174 0125 0190 0003", "no ktp: <ID_NUMBER>"),  # grouped, after its label
        ("e-KTP 317401-250190-0003 ya", "e-KTP <ID_NUMBER> ya"),
        ("NIK 1234567890123456", "NIK <ID_NUMBER>"),  # after its label, whatever its digits
        ("3274016708950002 kok ditolak", "<ID_NUMBER> kok ditolak"),  # a woman's: her day of birth plus 40
    ],
)
def test_indonesian_nik(text: str, redacted: str) -> None:
    result = Redactor().redact(text)
    assert result.text == redacted
    assert result.counts["ID_NUMBER"] == 1


@pytest.mark.parametrize(
    ("text", "kind"),
    [
        ("3174012513900003 kenapa", None),  # born in no month: no NIK
        ("9974012501900003", None),  # no province's code
        ("pesanan 3174012501900003", None),  # an order number of a NIK's shape, after its label
        ("kartu 5171012501900002", "CARD"),  # a card's (Luhn, a Mastercard prefix) of a NIK's shape
    ],
)
def test_indonesian_nik_look_alikes(text: str, kind: str | None) -> None:
    counts = Redactor().redact(text).counts
    assert "ID_NUMBER" not in counts
    assert (kind in counts) if kind else not counts


@pytest.mark.parametrize(
    ("text", "redacted"),
    [
        # Found in a Korean shop's trial: the resident registration number reached the training export.
        ("주민번호 900101-1234568 입니다", "주민번호 <ID_NUMBER> 입니다"),
        ("900101-1234568", "<ID_NUMBER>"),  # by its check digit, with its hyphen
        ("외국인등록번호 900101-5234561", "외국인등록번호 <ID_NUMBER>"),  # a foreigner's: 13 less the sum
        ("900101-5234561로 가입했어요", "<ID_NUMBER>로 가입했어요"),
        # Issued since October 2020, the last digits are random: after its label the date of birth decides.
        ("아이 주민등록번호는 201205-3123456이에요", "아이 주민등록번호는 <ID_NUMBER>이에요"),
        ("주민번호: 9001011234567", "주민번호: <ID_NUMBER>"),
        ("외국인 등록번호 850101 5234567", "외국인 등록번호 <ID_NUMBER>"),
    ],
)
def test_korean_registration_numbers(text: str, redacted: str) -> None:
    result = Redactor().redact(text)
    assert result.text == redacted
    assert result.counts == {"ID_NUMBER": 1}


@pytest.mark.parametrize(
    ("text", "redacted"),
    [
        # Found in a Korean shop's trial: the account number for a refund reached the training export.
        ("국민은행 123456-01-234567 으로 환불해주세요", "국민은행 <BANK_ACCOUNT> 으로 환불해주세요"),
        ("환불 계좌: 신한 110-123-456789", "환불 계좌: 신한 <BANK_ACCOUNT>"),
        ("계좌번호는 3333012345678입니다", "계좌번호는 <BANK_ACCOUNT>입니다"),
        ("KB국민은행123456-01-234567로 부탁드려요", "KB국민은행<BANK_ACCOUNT>로 부탁드려요"),
        ("농협 302-1234-5678-91 예금주 김민수", "농협 <BANK_ACCOUNT> 예금주 김민수"),
        ("카카오뱅크 계좌 3333 01 2345678", "카카오뱅크 계좌 <BANK_ACCOUNT>"),
    ],
)
def test_korean_bank_account_numbers_after_the_bank_or_a_label(text: str, redacted: str) -> None:
    result = Redactor().redact(text)
    assert result.text == redacted
    assert result.counts == {"BANK_ACCOUNT": 1}


@pytest.mark.parametrize(
    "text",
    [
        # The Korean shop's help center: amounts, dates and its own words about accounts stay.
        "계좌로 50,000원 환불됩니다",
        "무통장입금(가상계좌)은 지원하지 않습니다. 환불 계좌로 영업일 기준 2일 안에 입금됩니다.",
        "법인카드 결제 또는 계좌이체(후불, 월말 정산)를 고를 수 있습니다. 3회 이상 거래한 기업에만",
        "은행 점검 시간 23:30~00:30, 계좌 2026-10-02 입금분",
        "주문번호 SB2026110598765 환불, 상품 하나 2026110598765 취소",  # 하나 alone is "one", no bank
    ],
)
def test_numbers_near_korean_account_words_are_no_account_numbers(text: str) -> None:
    assert Redactor().redact(text).text == text


@pytest.mark.parametrize(
    ("text", "redacted"),
    [
        # Found in an Indonesian e-wallet's trial: the account number for a refund reached the export.
        (
            "refund ke rekening BCA 1234567890 atas nama Budi Santoso kapan masuk",
            "refund ke rekening BCA <BANK_ACCOUNT> atas nama Budi Santoso kapan masuk",
        ),
        ("no rek BRI 0123-01-012345-50-1", "no rek BRI <BANK_ACCOUNT>"),  # BRI's 15 digits in their groups
        ("norek mandiri saya 1230001234567", "norek mandiri saya <BANK_ACCOUNT>"),
        ("transfer ke rek BNI: 0123456789 ya", "transfer ke rek BNI: <BANK_ACCOUNT> ya"),
        ("nomor rekening saya 1234 5678 90", "nomor rekening saya <BANK_ACCOUNT>"),
        ("Bank Jatim 0011223344", "Bank Jatim <BANK_ACCOUNT>"),
        ("BCA 1234567890", "BCA <BANK_ACCOUNT>"),
    ],
)
def test_indonesian_bank_account_numbers_after_the_bank_or_a_label(text: str, redacted: str) -> None:
    result = Redactor().redact(text)
    assert result.text == redacted
    assert result.counts == {"BANK_ACCOUNT": 1}


@pytest.mark.parametrize(
    "text",
    [
        # The e-wallet's help center and its customers: amounts, fees, and order, transaction, waybill and
        # bill numbers after their labels stay.
        "rekening BCA Rp1.000.000 sudah masuk",
        "Biaya admin: BCA, BNI, BRI, Mandiri, dan Permata Rp1.000 per transaksi",
        "bri 2 jam lalu saya transfer 150000",
        "pesanan 081234567890 belum sampai",
        "transaksi 6281234567890 gagal",
        "no resi JP1234567890",
        "tagihan 081234567890",
        "invoice 081234567890",
        "ID transaksi 1234567890123",
    ],
)
def test_numbers_near_indonesian_account_words_are_no_account_numbers(text: str) -> None:
    assert Redactor().redact(text).text == text


@pytest.mark.parametrize(
    ("text", "redacted"),
    [
        # Found in an Indonesian e-wallet's trial: "wa 6281234567890" (62 without its plus, as WhatsApp links
        # write it) reached the training export.
        ("wa 6281234567890", "wa <PHONE>"),
        ("hubungi saya di wa 62 812-3456-7890", "hubungi saya di wa <PHONE>"),
        ("no hp 081234567890", "no hp <PHONE>"),
        ("0812-3456-7890 ya kak", "<PHONE> ya kak"),
        ("+62 812-3456-7890", "<PHONE>"),
    ],
)
def test_indonesian_phone_numbers(text: str, redacted: str) -> None:
    assert Redactor().redact(text).text == redacted


@pytest.mark.parametrize(
    ("text", "redacted"),
    [
        # An Italian trial's customers wrote their numbers so; those of IT's formats alone went to the export.
        ("il mio cellulare è 339 1234567, grazie", "il mio cellulare è <PHONE>, grazie"),
        ("chiamami al 3405178128", "chiamami al <PHONE>"),
        ("tel. 011 19536405", "tel. <PHONE>"),
        ("+39 333 1234567", "<PHONE>"),
        ("333 1234567", "<PHONE>"),
        ("06 12345678", "<PHONE>"),
        ("+39 02 9999 0192", "<PHONE>"),
        # Written with a dot: redacted before IT was a default region, and still (no decimal starts so).
        ("tel. 02.12345678", "tel. <PHONE>"),
        ("333.1234567", "<PHONE>"),
    ],
)
def test_italian_phone_numbers(text: str, redacted: str) -> None:
    assert Redactor().redact(text).text == redacted


@pytest.mark.parametrize(
    "text",
    [
        "Il rimborso arriva in 2 giorni lavorativi (2 business days).",
        # IT's formats fit these digits: a decimal and an order number are no phone numbers.
        "tasso di cambio 0.17266028",
        "coordinate 34.8014146, 12.4335171",
        "ordine n. 3401234567 spedito",
        "Fattura nr. 3387218518 del 01/02/2024: € 1.299,00, errore PX-102, versione 3.11.7",
    ],
)
def test_italian_look_alikes_are_no_phone_numbers(text: str) -> None:
    assert Redactor().redact(text).text == text


@pytest.mark.parametrize(
    ("text", "redacted"),
    [
        # A Korean trial's customers wrote their numbers so; CN's and IT's formats fit mobile ones by chance.
        ("제 번호 010-2345-6789 에요", "제 번호 <PHONE> 에요"),
        ("01012345678로 연락주세요", "<PHONE>로 연락주세요"),
        ("+82 10 1234 5678", "<PHONE>"),
        ("02-123-4567", "<PHONE>"),
        # Only KR's formats fit these: an Incheon number grouped 3-4-4, the country code without its plus.
        ("인천 032 8128 6570 으로 전화주세요", "인천 <PHONE> 으로 전화주세요"),
        ("82 10 1234 5678", "<PHONE>"),
    ],
)
def test_korean_phone_numbers(text: str, redacted: str) -> None:
    result = Redactor().redact(text)
    assert result.text == redacted
    assert result.counts == {"PHONE": 1}


@pytest.mark.parametrize(
    "text",
    [
        # The Korean shop's help center: its own nationwide number (only businesses rent 15xx, 16xx, 18xx),
        # amounts, dates and codes.
        "대표번호: 1666-0420 (평일 09:00~18:00), 고객센터 1588-1234 또는 +82 1588 1234",
        "한 번에 40,000원 이상 주문하시면 무료, 미만은 배송비 3,500원; 적립금 5,000원, 4,900원/월",
        "설 연휴(2027년 2월 6일~2월 9일), 2026.10.02, 2026-10-02 배송, 오전 7시 전에, 23:30",
        "주문번호 SB2026110598765, 오류 E-1021, 우편번호 04790",
        # KR's formats fit these digits: order, waybill and business registration numbers are no phones.
        "주문번호 0212345678, 송장번호 6012-3456-7890, 주문번호: 010-1234-5678",
        "사업자등록번호 123-45-67890",
        # A short number read with a country code written without its plus.
        "총 8254-130개",
        "total 4930-1234 items",
    ],
)
def test_korean_look_alikes_are_no_phone_numbers(text: str) -> None:
    assert Redactor().redact(text).text == text


@pytest.mark.parametrize(
    ("text", "redacted"),
    [
        # A Taiwanese trial's customers wrote their numbers so; DE's, FR's and IT's formats fit by chance.
        ("我的門號是0912345678，想改預約時間", "我的門號是<PHONE>，想改預約時間"),
        ("my number 0987-654-321", "my number <PHONE>"),
        ("+886 912 345 678", "<PHONE>"),
        # Only TW's formats fit these: a landline in groups, the country code without its plus.
        ("市話 03 253 5345", "市話 <PHONE>"),
        ("886 912 345 678", "<PHONE>"),
    ],
)
def test_taiwanese_phone_numbers(text: str, redacted: str) -> None:
    result = Redactor().redact(text)
    assert result.text == redacted
    assert result.counts == {"PHONE": 1}


@pytest.mark.parametrize(
    "text",
    [
        # The Taiwanese operator's help center: amounts, ROC and Gregorian dates, codes, its short numbers.
        "日租費率 NT$399，NT$1,399，儲值100塊，I got charged NT$3000",
        "民國114年3月2日，114/03/02，114.03.02，2025/03/02，每日 08:00–22:00",
        "預約編號R-482913，錯誤代碼 E-415、KYC-33，發票號碼 AB-12345678",
        "郵遞區號 10617，客服專線 1818，165 反詐騙專線",
        "https://help.lingyun-mobile.example.tw/hc/zh-tw/articles/360001234501",
    ],
)
def test_taiwanese_look_alikes_are_no_phone_numbers(text: str) -> None:
    assert Redactor().redact(text).text == text


@pytest.mark.parametrize(
    ("text", "redacted"),
    [
        # Order, waybill and booking numbers after their Chinese or Russian label: phone numbers' shapes.
        ("訂單編號 0912345678 還沒到", "訂單編號 0912345678 還沒到"),
        ("我的订单号是13812345678", "我的订单号是13812345678"),
        ("預約編號：0223456789，運單號 0912345678", "預約編號：0223456789，運單號 0912345678"),
        (
            "заказ 3600123456 где он? номер заказа 4012345678",
            "заказ 3600123456 где он? номер заказа 4012345678",
        ),
        ("трек-номер 4012345678, накладная 4012345678", "трек-номер 4012345678, накладная 4012345678"),
        # A phone number near those words is still one.
        ("我的手机号 13812345678，订单号 2023110812", "我的手机号 <PHONE>，订单号 2023110812"),
        ("заказ на номер 89161234567", "заказ на номер <PHONE>"),
    ],
)
def test_chinese_and_russian_order_numbers_are_no_phone_numbers(text: str, redacted: str) -> None:
    assert Redactor().redact(text).text == redacted


@pytest.mark.parametrize(
    ("text", "redacted"),
    [
        # Found in a Russian shop's trial: the SNILS passed through unredacted.
        ("снилс 112-233-445 95", "снилс <ID_NUMBER>"),
        ("112-233-445 95, не могу войти", "<ID_NUMBER>, не могу войти"),  # by its check digits, in its groups
        ("СНИЛС: 11223344595", "СНИЛС: <ID_NUMBER>"),
        # After its label, whatever its check digits.
        ("мой СНИЛС 123-456-789 00, не могу войти", "мой СНИЛС <ID_NUMBER>, не могу войти"),
        ("СНИЛС — 123 456 789 00", "СНИЛС — <ID_NUMBER>"),
    ],
)
def test_russian_snils(text: str, redacted: str) -> None:
    result = Redactor().redact(text)
    assert result.text == redacted
    assert result.counts == {"ID_NUMBER": 1}


@pytest.mark.parametrize(
    ("text", "redacted"),
    [
        # Found in a Russian shop's trial: the passport was redacted, but as a phone number.
        ("паспорт 4512 345678", "паспорт <ID_NUMBER>"),
        ("серия и номер 45 12 345678", "серия и номер <ID_NUMBER>"),
        ("Паспорт РФ: 4512345678, не могу получить заказ", "Паспорт РФ: <ID_NUMBER>, не могу получить заказ"),
        ("паспорт серия 4512 номер 345678", "паспорт серия <ID_NUMBER>"),
        ("загранпаспорт 75 1234567", "загранпаспорт <ID_NUMBER>"),
        # Other languages' labels, and their numbers' shapes: 6-9 letters and digits, five of them digits.
        ("My passport number is 533380006.", "My passport number is <ID_NUMBER>."),
        ("Reisepassnummer: C01X00T47", "Reisepassnummer: <ID_NUMBER>"),
        ("passeport n° 12AB34567", "passeport n° <ID_NUMBER>"),
        ("mi pasaporte es PAA123456", "mi pasaporte es <ID_NUMBER>"),
        ("护照号 E12345678", "护照号 <ID_NUMBER>"),
        ("パスポート番号はTK1234567です", "パスポート番号は<ID_NUMBER>です"),
        ("여권번호 M12345678", "여권번호 <ID_NUMBER>"),
    ],
)
def test_passport_numbers_after_their_label(text: str, redacted: str) -> None:
    result = Redactor().redact(text)
    assert result.text == redacted
    assert result.counts == {"ID_NUMBER": 1}


@pytest.mark.parametrize(
    ("text", "redacted"),
    [
        # After a Russian trial: a company's INN was redacted as a phone number, a person's went through.
        ("мой ИНН: 500100732259", "мой ИНН: <ID_NUMBER>"),
        ("ИНН 7707083893", "ИНН <ID_NUMBER>"),
        ("ИНН/КПП 7707083893/773601001", "ИНН/КПП <ID_NUMBER>/773601001"),
    ],
)
def test_russian_inn_after_its_label(text: str, redacted: str) -> None:
    result = Redactor().redact(text)
    assert result.text == redacted
    assert result.counts == {"ID_NUMBER": 1}


@pytest.mark.parametrize(
    ("text", "redacted"),
    [
        # A Ukrainian shop's customers give their taxpayer number for an invoice: it was redacted as a phone
        # number, by its ten digits.
        ("мій ІПН 3012345678", "мій ІПН <ID_NUMBER>"),
        ("РНОКПП: 3012345678, будь ласка", "РНОКПП: <ID_NUMBER>, будь ласка"),
        ("ідентифікаційний код 3012345678", "ідентифікаційний код <ID_NUMBER>"),
        # Passports: the old booklet's two Cyrillic letters and six digits, the ID card's nine digits.
        ("паспорт НК 123456", "паспорт <ID_NUMBER>"),
        ("паспорт серія НК 123456", "паспорт серія <ID_NUMBER>"),
        ("мій номер ID-картки 001234567", "мій номер ID-картки <ID_NUMBER>"),
        ("закордонний паспорт FX123456", "закордонний паспорт <ID_NUMBER>"),
        # An Israeli operator's customers identify themselves by their identity number; it went through.
        ("ת.ז. 039337423 בבקשה", "ת.ז. <ID_NUMBER> בבקשה"),
        ('ת"ז 039337423', 'ת"ז <ID_NUMBER>'),
        ("ת״ז שלי: 39337423", "ת״ז שלי: <ID_NUMBER>"),
        ("מספר הזהות של אבא שלי הוא 123456782", "מספר הזהות של אבא שלי הוא <ID_NUMBER>"),
        ("teudat zehut 039337423", "teudat zehut <ID_NUMBER>"),
        # The label with the article or a preposition on it, and "is:" after it.
        ('הת"ז שלי 039337423', 'הת"ז שלי <ID_NUMBER>'),
        ("בת.ז 039337423", "בת.ז <ID_NUMBER>"),
        ("מספר הזהות שלי הוא: 039337423", "מספר הזהות שלי הוא: <ID_NUMBER>"),
        ("паспорт серії НК 123456", "паспорт серії <ID_NUMBER>"),
        ("паспорт НК №123456", "паспорт <ID_NUMBER>"),
        ("паспортні дані: НК 123456", "паспортні дані: <ID_NUMBER>"),
        ("закордонний паспорт FA 123456", "закордонний паспорт <ID_NUMBER>"),
        ("מספר דרכון 23456789", "מספר דרכון <ID_NUMBER>"),
    ],
)
def test_ukrainian_and_israeli_id_numbers_after_their_label(text: str, redacted: str) -> None:
    result = Redactor().redact(text)
    assert result.text == redacted
    assert result.counts == {"ID_NUMBER": 1}


@pytest.mark.parametrize(
    "text",
    [
        # Order numbers and reminders in the same languages: no label of an ID.
        "הזמנה 123456789 עוד לא הגיעה",
        "התזמון 123456",
        "ІПН вказується в рахунку-фактурі, код отримання 123456",
        "паспорт потрібен для кредиту, ІПН теж",
        # Two lower-case letters are a word, not a passport's series.
        "паспорт та 123456",
    ],
)
def test_ukrainian_and_hebrew_look_alikes_are_no_id_numbers(text: str) -> None:
    assert Redactor().redact(text).text == text


@pytest.mark.parametrize(
    "text",
    [
        # The Russian shop's help center on passports, and a passport's other numbers.
        "Паспорт нужен только для заказов дороже 50 000 ₽, спросят паспорт, и его ФИО должно совпадать.",
        "Решение банк принимает за 2–5 минут онлайн, понадобится паспорт. Гражданин РФ от 18 лет с паспортом",
        "passport photo 35x45mm, passport 2024 renewal, 护照有效期 6个月",
    ],
)
def test_passport_words_without_a_number_stay(text: str) -> None:
    assert Redactor().redact(text).text == text


@pytest.mark.parametrize(
    "text",
    [
        # The Russian shop's help center: order numbers, postcodes, amounts, and its own phone numbers' digits
        # grouped otherwise than a SNILS's.
        "заказ VM-10293847 где он? VM-55512345",
        "почтой: 125009, г. Москва, ул. Электрозаводская, д. 27, стр. 4",
        "Доставка 3 000 ₽, бесплатно от 10 000 ₽; код получения 123456; 2025-03-11 09:20",
    ],
)
def test_russian_look_alikes_are_no_id_numbers(text: str) -> None:
    assert Redactor().redact(text).text == text


@pytest.mark.parametrize(
    ("text", "redacted"),
    [
        # A Chinese trial's customers wrote their QQ numbers and WeChat IDs so, and the export kept them.
        ("QQ号 123456789", "QQ号 <HANDLE>"),
        ("我的QQ是123456789，怎么找回密码？", "我的QQ是<HANDLE>，怎么找回密码？"),
        ("qq: 12345678", "qq: <HANDLE>"),
        ("我的微信是 zhangwei_1990", "我的微信是 <HANDLE>"),
        ("微信号：wxid_abc123", "微信号：<HANDLE>"),
        ("WeChat: zhang_wei88", "WeChat: <HANDLE>"),
        # The other labels, a value right after a CJK one, and full-width forms.
        ("扣扣号 10001", "扣扣号 <HANDLE>"),
        ("QQ号123456789", "QQ号<HANDLE>"),
        ("加我VX zhangwei1990", "加我VX <HANDLE>"),
        ("wechat id: zhang-wei_88", "wechat id: <HANDLE>"),
        ("ＱＱ：１２３４５６７８９", "ＱＱ：<HANDLE>"),
        ("QQ号 13812345678", "QQ号 <HANDLE>"),  # a QQ number by its label, though a mobile number's digits
    ],
)
def test_qq_numbers_and_wechat_ids_after_their_label_are_handles(text: str, redacted: str) -> None:
    result = Redactor().redact(text)
    assert result.text == redacted
    assert result.counts == {"HANDLE": 1}


@pytest.mark.parametrize(
    "text",
    [
        "微信支付怎么退款？",
        "QQ音乐会员怎么取消？",
        "QQ音乐 12345678",  # the label is a product's name
        "QQ 0123456",  # no QQ number starts with 0
        "QQ 1234 and QQ 9.7.1",  # too short; a version
        "QQ123456789",  # a code: a Latin label ends at a word's end
        "Log in with WeChat account or WeChat Official Accounts",  # words of a sentence
        "微信 account 被封了怎么办",
        "WeChat ID is required. WeChat: Settings",
        # Letters alone, or a platform's name and version: words, not IDs.
        "我用的微信是 android 版的",
        "微信 iPhone15 闪退",
        "WeChat android14 crash",
    ],
)
def test_chat_app_names_without_an_id_stay(text: str) -> None:
    assert Redactor().redact(text).text == text


@pytest.mark.parametrize(
    "text",
    [
        # Codes that pass an ID's check digit, after the label that says what they are.
        "Order A123456789",
        "SKU B199999990",
        "운송장 240115-2000000",
        # The post office's parcels are tracked by numbers written after its name.
        "우체국 6070-1234-5678",
    ],
)
def test_an_order_or_waybill_code_after_its_label_is_no_id_or_account(text: str) -> None:
    assert Redactor().redact(text).text == text


@pytest.mark.parametrize(
    ("text", "redacted"),
    [
        # An invoicing trial's customer pasted a live key; the export kept it for a model to learn.
        (
            "I accidentally pasted our key sk_live_51Hx9aQ2eZvKYlo2C8dQpR7tLmN in a ticket, what now?",
            "I accidentally pasted our key <SECRET> in a ticket, what now?",
        ),
        (
            'curl -H "Authorization: Bearer sk_test_4eC39HqLyjWDarjtT1zdp7dc"',
            'curl -H "Authorization: Bearer <SECRET>"',
        ),
        ("signing secret whsec_5WbX5kEWLlfzsGNjH64I8lOOqUB6e8FH", "signing secret <SECRET>"),
        ("token ghp_abcdefghijklmnopqrstuvwxyz0123456789 leaked", "token <SECRET> leaked"),
        ("AKIAIOSFODNN7EXAMPLE and xoxb-123456789012-abcdefABCDEF", "<SECRET> and <SECRET>"),
        ("my key is sk-proj-abcdefghij1234567890XYZ", "my key is <SECRET>"),
        (
            "jwt eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.dozjgNryP4J3jVmNHl0w5N_XgL0n3I9PlFU",
            "jwt <SECRET>",
        ),
    ],
)
def test_api_keys_and_tokens_are_redacted(text: str, redacted: str) -> None:
    result = Redactor().redact(text)
    assert result.text == redacted
    assert set(result.counts) == {"SECRET"}
    assert Redactor().redact(result.text).text == redacted  # idempotent


@pytest.mark.parametrize(
    "text",
    [
        "Use sk_live_... keys in production and the sk_test_ prefix in tests.",
        "Run unit_test_helpersformodels first.",
        "pip install sk-learn-compatibility-wrapper",
        "Authorization: Bearer <token>",
        # Identifiers shaped like keys, without a key's mixed case, base32 or digits.
        "api_test_environment1 fails",
        "run_test_case1234567890",
        "Bearer authentication-header missing",
        "ASIAPACIFICREGION123 server",
        "the sk-learn-pipeline-version-2 lib",
    ],
)
def test_key_prefixes_without_a_key_are_left_alone(text: str) -> None:
    assert Redactor().redact(text).text == text


@pytest.mark.parametrize(
    ("text", "redacted"),
    [
        # An invoicing trial's customer typed the VAT ID: it reached the export as written.
        ("our VAT ID is DE287654321", "our VAT ID is <ID_NUMBER>"),
        ("VAT number: FR40303265045, thanks", "VAT number: <ID_NUMBER>, thanks"),
        ("USt-IdNr. DE 287 654 321", "USt-IdNr. <ID_NUMBER>"),
        ("BTW-nummer NL123456789B01", "BTW-nummer <ID_NUMBER>"),
        ("n° TVA FR 40 303 265 045, merci", "n° TVA <ID_NUMBER>, merci"),
        ("NIF/CIF: ESB12345678", "NIF/CIF: <ID_NUMBER>"),
        ("UID ATU12345678.", "UID <ID_NUMBER>."),
        ("P.IVA IT00743110157", "P.IVA <ID_NUMBER>"),  # a Partita IVA and a VAT ID: once
        ("VAT reg. no. GB123456789", "VAT reg. no. <ID_NUMBER>"),
    ],
)
def test_eu_vat_ids_after_their_label(text: str, redacted: str) -> None:
    result = Redactor().redact(text)
    assert result.text == redacted
    assert result.counts == {"ID_NUMBER": 1}


@pytest.mark.parametrize(
    "text",
    [
        "order DE287654321 shipped",  # a VAT ID's shape without its label: any reference
        "VAT 19% on order DE287654321",
        "VAT number for order 12345678",  # no country prefix
        "VAT ID DE2876543210",  # ten digits: no German VAT ID
        "VAT is charged at 20% on invoice 2024-00815",
        # A Spanish article before an amount is no country prefix.
        "factura con IVA de 100.000.000 pesos",
        "IVA el 123456789",
    ],
)
def test_what_is_no_eu_vat_id_stays(text: str) -> None:
    assert Redactor().redact(text).text == text
