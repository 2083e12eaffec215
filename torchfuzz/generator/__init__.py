"""Seeded program generation."""
