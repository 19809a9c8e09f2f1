"""nameko dependency providers: the service's database (with its outbox relay) and RPC
clients that give up after a timeout."""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass
from typing import Any, Generic, Self, TypeVar, overload

import eventlet
from nameko.exceptions import UnknownService
from nameko.extensions import DependencyProvider
from nameko.rpc import RpcProxy
from sqlalchemy.orm import Session

from kernel.clock import Clock
from kernel.config import ConfigError
from kit import metrics
from kit.db import KitTables, Store, UnitOfWork
from kit.outbox import OutboxRelay
from kit.reloading import FileWatch
from kit.settings import Settings

T = TypeVar("T")
log = logging.getLogger(__name__)


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
    file, a registry), then handed to every worker as it is.

    ``reload_on`` names files of the configuration directory that may change while the
    service runs (holidays.yml, installed by ``civicflow calendar import`` or the console):
    when one has changed since the last worker, the value is built again before the next
    worker gets it. A file that no longer loads leaves the previous value in force, logged.
    """

    def __init__(self, load: Callable[[Settings], T], reload_on: Sequence[str] = ()) -> None:
        self.load = load
        self.reload_on = tuple(reload_on)

    def setup(self) -> None:
        settings = self.container.config["CIVICFLOW"]
        # looked at before the load, so a change made during it is seen by the next worker
        self.watch = FileWatch(settings.config_dir, self.reload_on)
        self.value = self.load(settings)

    def get_dependency(self, worker_ctx: Any) -> T:
        if self.reload_on and self.watch.changed():
            self.reload()
        return self.value

    def reload(self) -> None:
        try:
            self.value = self.load(self.container.config["CIVICFLOW"])
        except (ConfigError, OSError) as exc:
            log.error("%s: %s changed but does not load; the previous configuration stays "
                      "in force: %s", self.container.service_name, ", ".join(self.reload_on),
                      exc)  # fmt: skip
        else:
            log.info("%s: reloaded its configuration after %s changed",
                     self.container.service_name, ", ".join(self.reload_on))  # fmt: skip


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
