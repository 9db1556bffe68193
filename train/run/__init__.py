"""The files of one run directory: where each lives, atomic writes, figures, TensorBoard."""
