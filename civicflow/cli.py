"""``civicflow``: migrate, load the demo county, run one service or the whole platform."""

from kit.green import patch

patch()  # before anything that opens sockets or creates locks

import argparse  # noqa: E402
import os  # noqa: E402
import signal  # noqa: E402
import subprocess  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402
import urllib.request  # noqa: E402
from collections.abc import Sequence  # noqa: E402
from dataclasses import dataclass  # noqa: E402

from civicflow.calendar_commands import add_calendar  # noqa: E402
from kit.settings import SERVICES, Settings  # noqa: E402


def cmd_migrate(args: argparse.Namespace, settings: Settings) -> int:
    from kit.migrations import upgrade

    for service in args.services or SERVICES:
        upgrade(service, settings.database_url_for(service))
        print(f"migrated {service}")
    return 0


def cmd_demo(args: argparse.Namespace, settings: Settings) -> int:
    from civicflow.demo import load_demo

    loaded = load_demo(settings)
    print(f"demo county loaded: {loaded['units']} grid units, {loaded['users']} dev user(s)")
    if args.history is None:
        return 0
    from civicflow.history_run import load_from_cli

    return load_from_cli(settings, args.history, args.seed)


def _history_days(text: str) -> int:
    from civicflow.history import parse_span

    try:
        return parse_span(text)
    except ValueError as bad:
        raise argparse.ArgumentTypeError(str(bad)) from None


def cmd_grid_import(args: argparse.Namespace, settings: Settings) -> int:
    from pathlib import Path

    from kit.db import Store
    from kit.migrations import upgrade
    from kit.pii import load_vault
    from services.grid.domain import GridImportError
    from services.grid.models import TABLES
    from services.grid.transfer import import_bundle, read_bundle

    url = settings.database_url_for("grid")
    upgrade("grid", url)
    store = Store(url, "grid", TABLES)
    try:
        report = import_bundle(
            store, read_bundle(Path(args.path)), load_vault(settings), args.tolerance
        )
    except GridImportError as exc:
        print(f"grid import refused, nothing written: {exc}", file=sys.stderr)
        return 1
    finally:
        store.dispose()
    counts = ", ".join(f"{count} {part}" for part, count in report.counts.items())
    print(f"grid imported ({counts}); revision {report.revision}")
    print(
        f"changed: {report.changed_units} units, people of {report.changed_staff_units} units"
        + (", departments/duties/categories" if report.responsibilities_changed else "")
    )
    for warning in report.warnings[:20]:
        print(f"warning: {warning}")
    if len(report.warnings) > 20:
        print(f"warning: … and {len(report.warnings) - 20} more")
    return 0


def cmd_grid_export(args: argparse.Namespace, settings: Settings) -> int:
    from pathlib import Path

    from kit.db import Store
    from kit.pii import load_vault
    from services.grid.models import TABLES
    from services.grid.transfer import export_store

    store = Store(settings.database_url_for("grid"), "grid", TABLES)
    try:
        vault = load_vault(settings) if args.with_phones else None
        counts = export_store(store, Path(args.out), vault, args.with_phones)
    finally:
        store.dispose()
    listed = ", ".join(f"{count} {part}" for part, count in counts.items())
    print(f"grid exported to {args.out}: {listed}")
    return 0


def cmd_run(args: argparse.Namespace, settings: Settings) -> int:
    """One service; with ``--instances N``, N processes of it side by side (competing
    consumers), instance i answering HTTP on the service's port + i × ``--port-step``."""
    if args.instances > 1:
        port = settings.ports[args.service]
        return supervise(
            [
                Child(f"{args.service}#{i + 1}", [args.service], port + i * args.port_step)
                for i in range(args.instances)
            ]
        )
    from civicflow.registry import service_class
    from kit.runner import configure_logging, run_until_signalled

    configure_logging(os.environ.get("CIVICFLOW_LOG_LEVEL", "INFO"), args.service)
    run_until_signalled(service_class(args.service), settings)
    return 0


def cmd_broker_check(args: argparse.Namespace, settings: Settings) -> int:
    from kit.amqp import connection as amqp_connection

    try:
        with amqp_connection(settings.amqp_uri, settings.amqp_tls, connect_timeout=3) as connection:
            connection.ensure_connection(max_retries=1)
    except Exception as exc:
        print(
            f"broker at {settings.amqp_uri.split('@')[-1]} does not answer: {exc}", file=sys.stderr
        )
        return 1
    print("broker answers")
    return 0


def _healthy(port: int) -> bool:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=1) as answer:
            return bool(answer.status == 200)
    except OSError:
        return False


@dataclass(frozen=True)
class Child:
    """One service process: its name in messages, what ``civicflow run`` is given, its port."""

    label: str
    run_args: list[str]
    port: int

    def start(self) -> subprocess.Popen[bytes]:
        service = self.run_args[0]
        env = {**os.environ, f"{service.upper()}_PORT": str(self.port)}
        return subprocess.Popen([sys.executable, "-m", "civicflow", "run", *self.run_args], env=env)


def cmd_up(args: argparse.Namespace, settings: Settings) -> int:
    """Every service in its own process (``--scale dispatch=3`` for more of one); Ctrl-C (or
    SIGTERM) stops them all cleanly."""
    services: Sequence[str] = args.services or SERVICES
    scale = dict(args.scale)
    unknown = sorted(set(scale) - set(services))
    if unknown:
        print(f"--scale names services not started: {', '.join(unknown)}", file=sys.stderr)
        return 2
    children = []
    for name in services:
        count = scale.get(name, 1)
        for i in range(count):
            label = name if count == 1 else f"{name}#{i + 1}"
            children.append(Child(label, [name], settings.ports[name] + i * args.port_step))
    intake = settings.ports["intake"] if "intake" in services else None
    console = settings.ports["console"] if "console" in services else None
    return supervise(children, intake_port=intake, console_port=console)


def supervise(
    children: Sequence[Child], intake_port: int | None = None, console_port: int | None = None
) -> int:
    """Start the processes, wait until each is healthy, and stop them all on a signal or when
    one of them exits."""
    running = {child.label: child.start() for child in children}
    stopping = False

    def stop(_signum: int, _frame: object) -> None:
        nonlocal stopping
        stopping = True

    signal.signal(signal.SIGINT, stop)
    signal.signal(signal.SIGTERM, stop)
    deadline = time.monotonic() + 60
    waiting = {child.label for child in children}
    ports = {child.label: child.port for child in children}
    while waiting and not stopping and time.monotonic() < deadline:
        waiting = {label for label in waiting if not _healthy(ports[label])}
        if any(process.poll() is not None for process in running.values()):
            break
        time.sleep(0.3)
    exit_code = 0
    if not stopping and not waiting:
        print("\ncivicflow is up:")
        for child in children:
            print(f"  {child.label:<14} http://127.0.0.1:{child.port}/healthz")
        if intake_port is not None:
            print(f"  intake API     http://127.0.0.1:{intake_port}/api/v1/...")
        if console_port is not None:
            print(f"  console        http://127.0.0.1:{console_port}/")
        print("Ctrl-C stops everything.\n", flush=True)
    elif not stopping:
        print(f"not healthy: {sorted(waiting) or 'a service exited'}", file=sys.stderr)
        exit_code = 1
    while not stopping and exit_code == 0:
        dead = [label for label, process in running.items() if process.poll() is not None]
        if dead:
            print(f"{', '.join(dead)} exited; stopping the rest", file=sys.stderr)
            exit_code = 1
            break
        time.sleep(0.5)
    for process in running.values():
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
    for label, process in running.items():
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            print(f"{label} did not stop in time; killing it", file=sys.stderr)
            process.kill()
    print("civicflow stopped.")
    return exit_code


def _scale(text: str) -> tuple[str, int]:
    name, _, count = text.partition("=")
    if name not in SERVICES or not count.isdigit() or int(count) < 1:
        raise argparse.ArgumentTypeError(f"expected SERVICE=N (N ≥ 1), e.g. dispatch=3: {text!r}")
    return name, int(count)


def _instances(text: str) -> int:
    if not text.isdigit() or not 1 <= int(text) <= 32:
        raise argparse.ArgumentTypeError(f"expected a number of instances from 1 to 32: {text!r}")
    return int(text)


def cmd_report(args: argparse.Namespace, settings: Settings) -> int:
    """一单考评 of a period as CSV: per unit and department, from supervision's database."""
    from datetime import UTC, datetime
    from pathlib import Path

    from kit.db import Store
    from services.supervision.assessment import AssessmentConfig, Period, to_csv
    from services.supervision.models import TABLES
    from services.supervision.reports import assess_period

    try:
        period = Period.parse(args.period)
    except ValueError as bad:
        print(f"--period: {bad}", file=sys.stderr)
        return 2
    config = AssessmentConfig.from_file(settings.config_dir / "assessment.yml")
    store = Store(settings.database_url_for("supervision"), "supervision", TABLES)
    try:
        with store.read() as session:
            rows = assess_period(session, period, config, datetime.now(UTC))
    finally:
        store.dispose()
    text = to_csv(rows, period.label)
    out = Path(args.out or settings.data_dir / "reports" / f"assessment-{period.label}.csv")
    if args.out == "-":
        sys.stdout.write(text)
        return 0
    out.parent.mkdir(parents=True, exist_ok=True)
    # with a byte-order mark: Excel, where these reports are read, then takes it as UTF-8
    out.write_text(text, encoding="utf-8-sig")
    print(f"{len(rows)} units assessed for {period.label}: {out}")
    return 0


def cmd_dlq(args: argparse.Namespace, settings: Settings) -> int:
    """What is parked and why; back to work; or away."""
    from kit import deadletters

    uri, tls = settings.amqp_uri, settings.amqp_tls
    try:
        if args.action == "list":
            for name, count in deadletters.list_queues(uri):
                print(f"{count:8d}  {name}")
        elif args.action == "show":
            for parked in deadletters.peek(uri, args.queue, args.limit, tls):
                print(f"{parked.message_id}  from {parked.origin} ({parked.routing_key})"
                      f"  parked {parked.parked_at}\n    reason: {parked.reason}"
                      f"\n    body: {parked.body[:300].decode(errors='replace')}")  # fmt: skip
        elif args.action == "replay":
            print(
                f"replayed {deadletters.replay(uri, args.queue, args.limit, tls)} from {args.queue}"
            )
        else:
            print(f"purged {deadletters.purge(uri, args.queue, tls)} from {args.queue}")
    except deadletters.NotADeadLetterQueue as refused:
        print(refused, file=sys.stderr)
        return 2
    return 0


def cmd_keys_rotate(args: argparse.Namespace, settings: Settings) -> int:
    """Every sealed phone number and openid sealed again under the newest key."""
    from kit.pii import load_vault
    from kit.rekey import rotate, stores_for

    stores = stores_for(settings.database_url_for)
    try:
        done = rotate(stores, load_vault(settings))
    finally:
        for store in stores.values():
            store.dispose()
    for table, rotation in done.items():
        print(f"{table}: {rotation.resealed} re-sealed, {rotation.unreadable} no key opens")
    return 1 if any(r.unreadable for r in done.values()) else 0


def cmd_keys_index(args: argparse.Namespace, settings: Settings) -> int:
    """Intake's older submissions get the blind index phone search finds them by."""
    from kit.pii import load_phone_index_key, load_vault
    from kit.rekey import fill_phone_index, stores_for

    store = stores_for(settings.database_url_for)["intake"]
    try:
        with store.engine.begin() as connection:
            done = fill_phone_index(
                connection, load_vault(settings), load_phone_index_key(settings)
            )
    finally:
        store.dispose()
    print(f"intake.submissions: {done.filled} indexed, {done.unreadable} no key opens")
    return 1 if done.unreadable else 0


def cmd_keys(args: argparse.Namespace, settings: Settings) -> int:
    return (
        cmd_keys_index(args, settings)
        if args.action == "index"
        else cmd_keys_rotate(args, settings)
    )


def cmd_broker(args: argparse.Namespace, settings: Settings) -> int:
    """RabbitMQ's users, permissions and policies for civicflow (see deploy/rabbitmq/)."""
    import json
    import urllib.parse

    from kit import brokeradmin

    vhost = urllib.parse.unquote(urllib.parse.urlsplit(settings.amqp_uri).path[1:]) or "/"
    if args.action == "definitions":
        document = brokeradmin.definitions(args.vhost or vhost, with_passwords=False)
        print(json.dumps(document, indent=2, ensure_ascii=False))
        return 0
    document = brokeradmin.definitions(args.vhost or vhost, production=not settings.is_dev)
    admin = (os.environ.get("CIVICFLOW_BROKER_ADMIN", "guest"),
             os.environ.get("CIVICFLOW_BROKER_ADMIN_PASSWORD", "guest"))  # fmt: skip
    brokeradmin.apply(settings.amqp_uri, document, admin)
    print(f"{len(document['users'])} users, their permissions on {args.vhost or vhost}, "
          f"{len(document['exchanges'])} exchanges and the policies applied")  # fmt: skip
    return 0


def _add_run(run: argparse.ArgumentParser) -> None:
    run.add_argument("service", choices=SERVICES)
    run.add_argument("--instances", type=_instances, default=1, metavar="N")
    run.add_argument("--port-step", type=int, default=100, help="HTTP port of instance i: +i×step")
    run.set_defaults(handler=cmd_run)


def _add_up(up: argparse.ArgumentParser) -> None:
    up.add_argument("services", nargs="*")
    up.add_argument("--scale", type=_scale, action="append", default=[], metavar="SERVICE=N")
    up.add_argument("--port-step", type=int, default=100, help="HTTP port of instance i: +i×step")
    up.set_defaults(handler=cmd_up)


def _add_grid(grid: argparse.ArgumentParser) -> None:
    grid_commands = grid.add_subparsers(dest="grid_command", required=True)
    grid_import = grid_commands.add_parser(
        "import", help="import units.geojson, people, departments, duties, categories"
    )
    grid_import.add_argument("path", help="a directory of territory files, or one such file")
    grid_import.add_argument(
        "--tolerance", type=float, default=1.0, help="metres a child may stick out of its parent"
    )
    grid_import.set_defaults(handler=cmd_grid_import)
    grid_export = grid_commands.add_parser("export", help="write the territory's files")
    grid_export.add_argument("--out", default="grid-export", help="directory (grid-export)")
    grid_export.add_argument(
        "--with-phones", action="store_true", help="plain phone numbers (personal data!)"
    )
    grid_export.set_defaults(handler=cmd_grid_export)


def _add_report(report: argparse.ArgumentParser) -> None:
    report.add_argument(
        "--period", required=True, help="2026-11 (a month), 2026-Q4, 2026 or 2026-11-21"
    )
    report.add_argument(
        "--out", help="file to write (default var/reports/assessment-PERIOD.csv; - for stdout)"
    )
    report.set_defaults(handler=cmd_report)


def _add_broker(broker: argparse.ArgumentParser) -> None:
    actions = broker.add_subparsers(dest="action", required=True)
    for name, text in (("setup", "apply them to the broker at AMQP_URI (management API)"),
                       ("definitions", "print the definitions (no passwords)")):  # fmt: skip
        action = actions.add_parser(name, help=text)
        action.add_argument("--vhost", help="the vhost (default: AMQP_URI's)")
    broker.set_defaults(handler=cmd_broker)


def _add_keys(keys: argparse.ArgumentParser) -> None:
    actions = keys.add_subparsers(dest="action", required=True)
    actions.add_parser("rotate", help="seal every stored number again under the newest key")
    actions.add_parser("index", help="give older submissions the blind index phone search uses")
    keys.set_defaults(handler=cmd_keys)


def _add_dlq(dlq: argparse.ArgumentParser) -> None:
    actions = dlq.add_subparsers(dest="action", required=True)
    actions.add_parser("list", help="every dead-letter queue and its depth")
    for name, text in (("show", "the first parked messages and why"),
                       ("replay", "back to the queues they came from"),
                       ("purge", "drop them all")):  # fmt: skip
        action = actions.add_parser(name, help=text)
        action.add_argument("queue", help="a dead-letter queue, like dispatch.route_case.dlq")
        if name != "purge":
            action.add_argument("--limit", type=int, default=10 if name == "show" else None)
    dlq.set_defaults(handler=cmd_dlq)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="civicflow", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    migrate = commands.add_parser("migrate", help="apply database migrations")
    migrate.add_argument("services", nargs="*", metavar="SERVICE")
    migrate.set_defaults(handler=cmd_migrate)
    demo = commands.add_parser("demo", help="load the demo county and dev users")
    demo.add_argument(
        "--history",
        type=_history_days,
        metavar="SPAN",
        help="and a month (30d) or a week (7d) of cases through the platform",
    )
    demo.add_argument("--seed", type=int, default=22, help="the history's seed (22)")
    demo.set_defaults(handler=cmd_demo)
    _add_run(commands.add_parser("run", help="run one service, or N instances of it"))
    _add_up(commands.add_parser("up", help="run every service, each in its own process"))
    _add_grid(commands.add_parser("grid", help="import or export the territory (units, people, …)"))
    _add_report(commands.add_parser("report", help="一单考评: the assessment of a period as CSV"))
    _add_broker(commands.add_parser("broker", help="RabbitMQ users, permissions, policies"))
    _add_keys(commands.add_parser("keys", help="the keys sealing phone numbers"))
    _add_dlq(commands.add_parser("dlq", help="dead-letter queues: list, show, replay, purge"))
    broker_check = commands.add_parser("broker-check", help="exit 0 if AMQP_URI answers")
    broker_check.set_defaults(handler=cmd_broker_check)
    add_calendar(commands.add_parser("calendar", help="the working calendar (holidays, 调休)"))
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    code: int = args.handler(args, Settings.from_env())
    return code


if __name__ == "__main__":
    sys.exit(main())
