"""The shared kernel: what several services must agree on, in plain Python with no I/O and no
framework — the territory's levels and the escalation ladder, durations, the SLA policy, the
working calendar, the catalogues, the registered sources and how configuration files are read.

A service imports the kernel, never another service (``make lint`` checks both ways).

- ``levels``: the territory's levels and the escalation ladder (格呼街应、街呼区应)
- ``durations``: ISO 8601 durations and SLA limits (working days or wall clock)
- ``sla``: the SLA policy of sla.yml: limits, overrides, escalation, order limits
- ``sla_file``: what sla.yml may say, as a pydantic model the policy is built from
- ``calendar``, ``holidays``: working days, from chinesecalendar and holidays.yml
- ``working_hours``: a unit's working hours (hours.yml) and N working minutes after an instant
- ``duty``: the duty roster of 24/7 units (值班表), deputies (AB岗) and leave: who is told now
- ``catalogue``: categories.yml and departments.yml
- ``sources``: sources.yml, the submitters intake registers and the console shows
- ``config``: configuration files read with the file, line and field of each fault named
- ``clock``: where time comes from
"""
