"""Evaluation metrics, one module each: Fréchet distance (fid), Inception features (inception),
cached real-data statistics (reference_stats), discriminator accuracy, precision/recall."""
