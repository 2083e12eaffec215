"""Lowering, execution, compile variants and the oracle."""
