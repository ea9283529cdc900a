"""The base models (rules in base_model.smk): SpliceAI-10k and OpenSpliceAI in our own PyTorch
network, delta scores with the original tools' semantics, the fast exact engine, the drop-in
``score`` command, and the workflow's scoring shards.

May import: ``common``, ``config``, ``io``, ``variants``.
"""
