"""Everything the training rules run (targets.smk, train.smk, calibrate.smk): validated targets,
datasets, the one training loop, prediction tables, calibration, ensembles and the
gradient-boosted feature model.

May import: ``common``, ``config``, ``io``, ``variants``, ``scoring``, ``models``.
"""
