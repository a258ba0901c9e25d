"""Measuring retrieval: metrics over question files, and the naive baseline BookQA replaces."""
