"""Slow, obviously-correct numpy references of every fast kernel (for tests and benchmark baselines)."""
