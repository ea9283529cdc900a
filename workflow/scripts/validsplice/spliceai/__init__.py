"""The base model: SpliceAI-10k in PyTorch (``network``, ``weights``), delta scores with the
original tool's semantics (``scoring``), the fast engine (``incremental``), shards (``shards``) and the
drop-in ``score`` command (``cli``)."""
