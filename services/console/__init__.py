"""Console: the staff's web console and REST API; owns users and sessions only."""
