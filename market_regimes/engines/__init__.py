"""Stateful regime detectors (pure Python, no dbt): the Uptrend Engine state machine."""
