"""Finding the chunks that answer a question: dense and lexical search, passage ranking,
fusion by reciprocal rank, optional reranking; below the answer layer, which never reaches
back into it but through HybridRetriever."""
