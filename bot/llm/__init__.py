"""Local and remote language models: generation, embeddings and model provisioning."""
