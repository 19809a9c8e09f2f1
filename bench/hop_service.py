"""The consuming end of the single-hop benchmarks (``bench/hops.py``), one process each:

``python -m bench.hop_service nameko --marks N,M --result FILE``
    plain nameko: one ``nameko.events.event_handler`` for events of type ``bench.hop`` from
    ``hop_source`` (exchange ``hop_source.events``, queue
    ``evt-hop_source-bench.hop--hop_nameko.handle``), counting what it is handed.
``python -m bench.hop_service kit --marks N,M --result FILE --data-dir DIR --port P``
    the kit: a probe service like ``tests/integration/test_kit.py``'s, with ``on_event`` for
    ``case.received`` (queue ``hop_kit.handle``, a quorum queue with its dead-letter queue)
    and ``Database``: each event is recorded with ``first_time`` in one committed unit of work
    on SQLite in ``DIR``, then counted.

Both run in the kit's runner (``kit.runner.run_until_signalled``, so the same container
config and the same clean stop on SIGTERM). When the handler has counted ``N`` events (and
again at ``M``) it appends ``{"handled", "first", "at"}`` (``time.time()`` of the first event
and of this one) as a line to ``FILE``; the bench reads it, and stops the process.
"""

from kit.green import patch

patch()  # before anything that opens sockets or creates locks, as civicflow's CLI does

import argparse  # noqa: E402
import json  # noqa: E402
import os  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402
from dataclasses import dataclass  # noqa: E402
from pathlib import Path  # noqa: E402
from typing import Any  # noqa: E402

from nameko.events import event_handler  # noqa: E402
from sqlalchemy import MetaData  # noqa: E402

from contracts.events import CASE_RECEIVED, CaseReceived, Envelope  # noqa: E402
from kit.base import ServiceBase  # noqa: E402
from kit.db import Store, kit_tables  # noqa: E402
from kit.messaging import on_event  # noqa: E402
from kit.providers import Database  # noqa: E402
from kit.runner import configure_logging, run_until_signalled  # noqa: E402
from kit.settings import Settings  # noqa: E402

NAMEKO_SOURCE = "hop_source"
NAMEKO_EVENT_TYPE = "bench.hop"
NAMEKO_SERVICE = "hop_nameko"
KIT_SERVICE = "hop_kit"

PROBE_METADATA = MetaData()
PROBE_TABLES = kit_tables(PROBE_METADATA)


@dataclass
class Counter:
    """Events handled so far; at each mark it appends ``{"handled", "first", "at"}`` (times
    from ``time.time()``: the first event's, and now) as a line to the result file."""

    marks: frozenset[int] = frozenset()
    result: Path | None = None
    handled: int = 0
    first: float = 0.0

    def tick(self) -> None:
        now = time.time()
        if not self.handled:
            self.first = now
        self.handled += 1
        if self.handled in self.marks and self.result is not None:
            line = json.dumps({"handled": self.handled, "first": self.first, "at": now})
            with self.result.open("a", encoding="utf-8") as out:  # one short line: the bench
                out.write(line + "\n")  # reads whole lines only


COUNTER = Counter()


class NamekoHop:
    """Plain nameko: the standard event handler, nothing of the kit in the handler."""

    name = NAMEKO_SERVICE

    @event_handler(NAMEKO_SOURCE, NAMEKO_EVENT_TYPE)  # type: ignore[untyped-decorator]
    def handle(self, payload: Any) -> None:
        COUNTER.tick()


class KitHop(ServiceBase):
    """The kit's way: a parsed envelope, recorded once per event in its own transaction."""

    name = KIT_SERVICE
    db = Database(PROBE_TABLES)

    @on_event(CASE_RECEIVED)
    def handle(self, event: Envelope[CaseReceived]) -> None:
        with self.db.unit_of_work() as uow:
            if uow.first_time(event.event_id):
                uow.commit()
        COUNTER.tick()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="bench.hop_service", description=__doc__)
    parser.add_argument("kind", choices=("nameko", "kit"))
    parser.add_argument("--marks", required=True, help="counts to note, comma-separated")
    parser.add_argument("--result", type=Path, required=True)
    parser.add_argument("--data-dir", type=Path, default=Path("."))
    parser.add_argument("--port", type=int, default=0)
    args = parser.parse_args(argv)
    COUNTER.marks = frozenset(int(mark) for mark in args.marks.split(","))
    COUNTER.result = args.result
    configure_logging(os.environ.get("CIVICFLOW_LOG_LEVEL", "WARNING"))
    service: type = NamekoHop if args.kind == "nameko" else KitHop
    settings = Settings(
        amqp_uri=os.environ["AMQP_URI"],
        data_dir=args.data_dir,
        http_host="127.0.0.1",
        ports={service.name: args.port},  # type: ignore[attr-defined]
    )
    if service is KitHop:
        store = Store(settings.database_url_for(KIT_SERVICE), KIT_SERVICE, PROBE_TABLES)
        PROBE_METADATA.create_all(store.engine)
        store.dispose()
    run_until_signalled(service, settings)
    return 0


if __name__ == "__main__":
    sys.exit(main())
