"""Evaluation of MSSG generators: image quality, covariate control (strata prediction score), sweep figures."""
