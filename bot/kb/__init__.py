"""Knowledge base: loading documents, chunking, embedding and hybrid search."""
