"""civicflow: the command line and the wiring of the platform."""
