"""From a question to a cited answer: retrieve, fuse, prompt, cite."""
