#!/usr/bin/env bash
# Run by Snakemake inside the freshly created conda env (--use-conda). The spliceai package is
# installed as on the pip route (Makefile): only its packaged .h5 weights and gene tables are read,
# so --no-deps keeps TensorFlow and Keras out of the env.
set -euo pipefail
python -m pip install --no-deps spliceai==1.3.1
