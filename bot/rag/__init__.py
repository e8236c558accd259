"""The answer pipeline: condense, retrieve, decide, prompt, generate, check citations."""
