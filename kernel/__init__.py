"""The shared kernel: what several services must agree on, in plain Python with no I/O and no
framework — the territory's levels and the escalation ladder, durations, the SLA policy, the
working calendar, the catalogues and how configuration files are read.

A service imports the kernel, never another service.
"""
