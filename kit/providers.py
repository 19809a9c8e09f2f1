"""nameko dependency providers: the service's database (with its outbox relay) and RPC
clients that give up after a timeout."""

from __future__ import annotations

from collections.abc import Callable
from contextlib import AbstractContextManager
from dataclasses import dataclass
from typing import Any, Generic, Self, TypeVar, overload

import eventlet
from nameko.exceptions import UnknownService
from nameko.extensions import DependencyProvider
from nameko.rpc import RpcProxy
from sqlalchemy.orm import Session

from kernel.clock import Clock
from kit import metrics
from kit.db import KitTables, Store, UnitOfWork
from kit.outbox import OutboxRelay
from kit.settings import Settings

T = TypeVar("T")


class Injected(Generic[T]):
    """Typing for dependency providers: on the class the provider, on a worker's service
    instance the value nameko injected there (its instance attribute wins over this
    non-data descriptor at run time; this only tells type checkers what ``self.x`` is)."""

    @overload
    def __get__(self, instance: None, owner: type) -> Self: ...
    @overload
    def __get__(self, instance: object, owner: type) -> T: ...
    def __get__(self, instance: object | None, owner: type) -> Self | T:
        if instance is None:
            return self
        raise AttributeError("dependency not injected: only a worker's service instance has it")


@dataclass(frozen=True)
class WorkerDatabase:
    """What a worker sees of its service's database."""

    store: Store
    relay: OutboxRelay
    consumer: str

    def unit_of_work(self) -> UnitOfWork:
        return self.store.unit_of_work(self.consumer)

    def read(self) -> AbstractContextManager[Session]:
        return self.store.read()

    def health(self) -> dict[str, str]:
        try:
            self.store.ping()
            database = "ok"
        except Exception as exc:
            database = f"error: {type(exc).__name__}"
        if self.relay.standing_by:  # a second instance on SQLite: the first one relays
            return {"database": database, "outbox_relay": "standby"}
        return {"database": database, "broker": "ok" if self.relay.connected else "down"}


class Database(Injected["WorkerDatabase"], DependencyProvider):  # type: ignore[misc]
    """The service's own database, and the relay that publishes its outbox."""

    def __init__(self, tables: KitTables) -> None:
        self.tables = tables

    def setup(self) -> None:
        settings = self.container.config["CIVICFLOW"]
        service = self.container.service_name
        self.store = Store(
            settings.database_url_for(service), service, self.tables,
            pool_size=settings.database_pool_size,
        )  # fmt: skip
        self.relay = OutboxRelay(
            self.store, self.container.config["AMQP_URI"], service, settings.amqp_tls,
            heartbeat=settings.amqp_heartbeat,
        )  # fmt: skip

    def start(self) -> None:
        self.container.spawn_managed_thread(self.relay.run, identifier="outbox-relay")

    def stop(self) -> None:
        self.relay.stop()
        self.store.dispose()

    def kill(self) -> None:
        self.relay.stop()

    def get_dependency(self, worker_ctx: Any) -> WorkerDatabase:
        consumer = f"{self.container.service_name}.{worker_ctx.entrypoint.method_name}"
        return WorkerDatabase(self.store, self.relay, consumer)


class Configured(Injected[T], DependencyProvider):  # type: ignore[misc]
    """A value built once from the settings when the container starts (a parsed config
    file, a registry), then handed to every worker as it is."""

    def __init__(self, load: Callable[[Settings], T]) -> None:
        self.load = load

    def setup(self) -> None:
        self.value = self.load(self.container.config["CIVICFLOW"])

    def get_dependency(self, worker_ctx: Any) -> T:
        return self.value


class RpcUnavailable(Exception):
    """The called service cannot answer now: none is running, or it did not answer in time."""


class RpcTimeout(RpcUnavailable):
    """The called service did not answer in time."""


class TimedServiceProxy:
    def __init__(self, proxy: Any, target: str, timeout: float) -> None:
        self._proxy = proxy
        self._target = target
        self._timeout = timeout

    def __getattr__(self, method: str) -> Callable[..., Any]:
        remote = getattr(self._proxy, method)

        def call(*args: Any, **kwargs: Any) -> Any:
            timer = metrics.RPC_SECONDS.labels(self._target, method).time()
            silence = RpcTimeout(f"{self._target}.{method} gave no answer in {self._timeout}s")
            with timer, eventlet.Timeout(self._timeout, silence):
                try:
                    return remote(*args, **kwargs)
                except UnknownService:
                    raise RpcUnavailable(f"no {self._target} service is running") from None

        return call


class RpcClient(Injected["TimedServiceProxy"], RpcProxy):  # type: ignore[misc]
    """nameko's ``RpcProxy`` with the timeout it lacks (``CIVICFLOW_RPC_TIMEOUT``)."""

    def __init__(self, target_service: str, timeout: float | None = None) -> None:
        super().__init__(target_service)
        self.timeout = timeout

    def get_dependency(self, worker_ctx: Any) -> TimedServiceProxy:
        timeout = self.timeout or self.container.config["CIVICFLOW"].rpc_timeout
        return TimedServiceProxy(super().get_dependency(worker_ctx), self.target_service, timeout)


class ClockProvider(DependencyProvider):  # type: ignore[misc]
    """The service's clock (``Settings.clock``): the system's, or the one a test controls."""

    def get_dependency(self, worker_ctx: Any) -> Clock:
        settings: Settings = self.container.config["CIVICFLOW"]
        return settings.clock
