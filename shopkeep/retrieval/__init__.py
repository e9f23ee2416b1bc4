"""Catalog and knowledge retrieval: embeddings, vector + lexical (hybrid) search, filters, knowledge base."""
