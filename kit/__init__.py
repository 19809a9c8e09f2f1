"""The service kit: the one layer that knows nameko, kombu and the outbox.

Services import from its modules (``kit.web``, ``kit.messaging``, ``kit.providers``,
``kit.rpc``); the package itself imports nothing so that ``kit.green.patch()`` can run
before eventlet-sensitive modules load.
"""
