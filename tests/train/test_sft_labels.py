"""What fine-tuning is trained on: the final answer of each sample, through its end-of-turn mark only."""

from __future__ import annotations

from typing import Any

from bot.domain import ChatMessage
from bot.train.data import ChatSample
from bot.train.sft import IGNORE_INDEX, encode_sample, encode_samples


class ChatMLTokenizer:
    """A ChatML template (SmolLM2's) over one token per character: offsets are exact, no model needed."""

    def apply_chat_template(
        self, messages: list[dict[str, str]], *, tokenize: bool, add_generation_prompt: bool = False
    ) -> str:
        assert not tokenize
        text = "".join(f"<|im_start|>{m['role']}\n{m['content']}<|im_end|>\n" for m in messages)
        return text + ("<|im_start|>assistant\n" if add_generation_prompt else "")

    def __call__(
        self, text: str, *, add_special_tokens: bool, return_offsets_mapping: bool
    ) -> dict[str, Any]:
        return {"input_ids": [ord(c) for c in text], "offset_mapping": [(i, i + 1) for i in range(len(text))]}


def _labelled(sample: ChatSample) -> str:
    encoded = encode_sample(ChatMLTokenizer(), sample, 10_000)
    assert encoded is not None
    return "".join(chr(label) for label in encoded.labels if label != IGNORE_INDEX)


def test_only_the_final_answer_is_trained_on() -> None:
    # The earlier answer is context, as it is when the bot serves: labelled, it would be trained once more
    # per later turn, and with --include-context under the later question's passages.
    sample = ChatSample(
        line=1,
        messages=(
            ChatMessage("system", "[1] Python is free."),
            ChatMessage("user", "Is Python free?"),
            ChatMessage("assistant", "It costs 10 euros."),
            ChatMessage("user", "Who maintains it?"),
            ChatMessage("assistant", "The PSF [1]."),
        ),
    )
    # Through the end-of-turn mark, as `eval model` scores the reference; not the newline after it.
    assert _labelled(sample) == "The PSF [1].<|im_end|>"
    report = encode_samples(ChatMLTokenizer(), [sample], 10_000)
    assert report.samples[0].supervised_tokens == len("The PSF [1].<|im_end|>")


def test_a_single_turn_sample_is_labelled_as_before() -> None:
    sample = ChatSample(line=3, messages=(ChatMessage("user", "q"), ChatMessage("assistant", "a [1].")))
    assert _labelled(sample) == "a [1].<|im_end|>"
