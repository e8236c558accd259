"""Customer-support chat bot: retrieval-augmented answers from a local llama.cpp model."""

__version__ = "0.1.0"
