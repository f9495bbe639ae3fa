"""Dagster definitions split by concern (project, dbt assets, resources)."""
