"""Tests of the candidate pool, DS3 and the selection strategies."""
