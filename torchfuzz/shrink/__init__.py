"""Minimization: the shrinker and its reduction moves over the IR."""
