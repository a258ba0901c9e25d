"""BookQA: a local study assistant for a textbook PDF (ingestion, hybrid retrieval, grounded answers)."""

__version__ = "0.1.0"
