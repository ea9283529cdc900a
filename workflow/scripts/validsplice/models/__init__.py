"""The trainable networks (built by name through ``config.registry.build_model``): gated CNNs, the
binary CNN, HyenaDNA heads and the paired classifier.

May import: ``common``, ``config``.
"""
