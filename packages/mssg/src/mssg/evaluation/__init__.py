"""Evaluating MSSG generators: image quality, covariate control (strata prediction score), sweeps."""
