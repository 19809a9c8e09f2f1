"""Grid: the territory (大中小微) and who is responsible there."""
