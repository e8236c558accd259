"""One refusal definition: the pipeline's opening check and the evaluation's anywhere check agree."""

from __future__ import annotations

import pytest

from bot.rag.pipeline import REFUSAL_TEXT
from bot.rag.refusal import is_refusal, opens_with_refusal


@pytest.mark.parametrize(
    "text",
    [
        "I don't know.",
        "I don’t know.",
        "i dont know",
        "I'm not sure.",
        "I can't answer that from these passages.",
        "The passages do not say.",
        "The passage doesn't mention it.",
        "I couldn't find this.",
    ],
)
def test_model_refusals_open_and_are_found(text: str) -> None:
    assert opens_with_refusal(text)
    assert opens_with_refusal(f"  ** {text}")
    assert is_refusal(f"Sorry. {text}")


def test_the_bots_fixed_refusal_counts() -> None:
    assert is_refusal(REFUSAL_TEXT)


@pytest.mark.parametrize(
    "text",
    [
        "Reset it with the blue button [1].",
        "I know the answer: press reset [1].",
        "Couldn't find your parcel? Call the depot [2].",
        "If you are not sure, check the label [1].",
    ],
)
def test_answers_are_not_refusals(text: str) -> None:
    assert not opens_with_refusal(text)
    assert not is_refusal(text)
