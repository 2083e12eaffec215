"""The op catalogue: one record per op, grouped by family, one file per family."""
