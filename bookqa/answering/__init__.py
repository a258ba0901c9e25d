"""Answering a question: a turn (rewrite a follow-up, retrieve, judge confidence, prompt, backend, check citations)."""
