"""The ALMEA model: encoders, fusion, latent learning and calibration, losses."""
