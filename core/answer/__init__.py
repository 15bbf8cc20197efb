"""From retrieved chunks to a cited answer: the prompt and its vocabulary, condensing a
follow-up, query expansion, citations, abstention, and the service that runs them."""
