"""Trainable models; build them by name through ``registry.build_model``."""
