"""The platform's services, one folder each: service.py (entrypoints), domain.py (pure),
models.py, repository.py, migrations/."""
