"""Quality evaluations on labelled questions, behind the `eval` commands (only the CLI imports it)."""
