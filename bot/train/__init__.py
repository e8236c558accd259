"""Fine-tuning (optional `train` extra): LoRA on exported conversations, to a GGUF adapter."""
