"""Pangolin (Zeng & Li 2022) as a base model: our own network loading the original weights
(``network``), the original ``pangolin`` command's scoring semantics (``score``), the fast exact
engine (``engine``) and the drop-in ``score --model pangolin`` (``cli``). See docs/pangolin.md.
"""
