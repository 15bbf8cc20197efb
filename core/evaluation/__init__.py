"""Scoring a collection's answers on a golden set: parse the set, ask each question, score what
came back, compare two configurations, fit the abstention threshold, render the report."""
