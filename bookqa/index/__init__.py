"""Indexing and searching a book: embedders, the vector index, the keyword index and its tokenizer, the title index,
the glossary, fusion and the retriever."""
