"""The monitoring configuration: Prometheus' scrape config, the alert and recording rules with their
promtool unit tests, and the Grafana dashboard, checked against the metrics the code defines.

promtool is required, not optional: ``scripts/ensure-promtool.sh`` installs it (``make test`` runs
it first). The metrics the code defines are found by reading ``kit/`` and ``services/``: every
``Counter(…)``, ``Gauge(…)``, ``Histogram(…)`` and ``Summary(…)`` whose name starts ``civicflow_``,
with its label names, so that a dashboard or an alert naming a metric (or a label) nobody exports
fails here instead of drawing an empty panel in production.
"""

from __future__ import annotations

import ast
import json
import re
import shutil
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml

from kit.settings import DEFAULT_PORTS, SERVICES

REPO = Path(__file__).resolve().parents[2]
PROMETHEUS_DIR = REPO / "deploy" / "prometheus"
PROMETHEUS_CONFIG = PROMETHEUS_DIR / "prometheus.yml"
ALERTS = PROMETHEUS_DIR / "alerts.yml"
ALERTS_TESTS = PROMETHEUS_DIR / "alerts.test.yml"
GRAFANA_DIR = REPO / "deploy" / "grafana"
DASHBOARD = GRAFANA_DIR / "dashboards" / "civicflow.json"
GRAFANA_DATASOURCES = GRAFANA_DIR / "provisioning" / "datasources" / "prometheus.yml"
GRAFANA_DASHBOARDS = GRAFANA_DIR / "provisioning" / "dashboards" / "civicflow.yml"
SOURCE_DIRS = (REPO / "kit", REPO / "services")

PREFIX = "civicflow_"
SCRAPE_LABELS = frozenset({"job", "instance"})
"""Labels Prometheus adds to every series it scrapes."""
SEVERITIES = frozenset({"critical", "warning", "info"})
DATASOURCE_UID = "prometheus"
"""The uid of the provisioned Prometheus data source, the dashboard's default."""


# ------------------------------------------------------------------------------------- promtool


def promtool(*args: str) -> subprocess.CompletedProcess[str]:
    """Run promtool in deploy/prometheus, where rule_files and the tests' paths are relative to."""
    executable = shutil.which("promtool")
    if executable is None:
        pytest.fail(
            "promtool is not installed: run scripts/ensure-promtool.sh "
            "(it installs Debian's prometheus package, which ships promtool)",
            pytrace=False,
        )
    return subprocess.run(
        [executable, *args],
        cwd=PROMETHEUS_DIR,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def assert_succeeds(result: subprocess.CompletedProcess[str]) -> None:
    assert result.returncode == 0, (
        f"{' '.join(result.args)} exited {result.returncode}:\n{result.stdout}\n{result.stderr}"
    )


def test_prometheus_config_is_valid() -> None:
    # also loads and checks the rule_files it names (alerts.yml, beside it)
    assert_succeeds(promtool("check", "config", PROMETHEUS_CONFIG.name))


def test_alert_rules_are_valid() -> None:
    assert_succeeds(promtool("check", "rules", ALERTS.name))


def test_alert_rules_pass_their_unit_tests() -> None:
    assert_succeeds(promtool("test", "rules", ALERTS_TESTS.name))


def test_dashboard_queries_are_valid_promql(tmp_path: Path) -> None:
    """promtool has no `check expr`: each query becomes a recording rule of a scratch rule file,
    Grafana's variables replaced by what they stand for."""
    substitutes = {
        "$__rate_interval": "1m",
        "$__interval": "15s",
        "$__range": "6h",
        "$job": ".*",
        "${DS_PROMETHEUS}": DATASOURCE_UID,
    }
    rules: list[dict[str, str]] = []
    for number, (where, expr) in enumerate(dashboard_exprs()):
        for variable, value in substitutes.items():
            expr = expr.replace(variable, value)
        assert "$" not in expr, f"{where}: unknown Grafana variable in {expr!r}"
        if expr.startswith("label_values("):
            continue  # a variable query of Grafana's, not PromQL
        rules.append({"record": f"dashboard:query_{number}", "expr": expr})
    assert rules, "the dashboard has no queries"
    scratch = tmp_path / "dashboard-queries.yml"
    scratch.write_text(
        yaml.safe_dump({"groups": [{"name": "dashboard", "rules": rules}]}), encoding="utf-8"
    )
    assert_succeeds(promtool("check", "rules", str(scratch)))


# ------------------------------------------------------------------------------ what code defines


@dataclass(frozen=True)
class Metric:
    """One prometheus_client metric the code defines."""

    name: str
    """Its name as exposed without suffixes: a Counter's ``_total`` is part of it."""
    kind: str
    labels: frozenset[str] | None
    """``None`` when the label names are not literal strings in the source: not checked then."""
    where: str

    def series(self) -> dict[str, frozenset[str]]:
        """The series names it exposes, with the labels each has beyond the scrape labels."""
        own = self.labels or frozenset()
        if self.kind == "histogram":
            return {
                f"{self.name}_bucket": own | {"le"},
                f"{self.name}_sum": own,
                f"{self.name}_count": own,
            }
        if self.kind == "summary":
            return {
                self.name: own | {"quantile"},
                f"{self.name}_sum": own,
                f"{self.name}_count": own,
            }
        return {self.name: own}


METRIC_KINDS = {
    "Counter": "counter",
    "Gauge": "gauge",
    "Histogram": "histogram",
    "Summary": "summary",
}


def literal_strings(node: ast.expr | None, constants: dict[str, ast.expr]) -> frozenset[str] | None:
    """The strings of a literal list or tuple (or of a module constant bound to one)."""
    if isinstance(node, ast.Name) and node.id in constants:
        node = constants[node.id]
    if node is None:
        return frozenset()
    if isinstance(node, ast.List | ast.Tuple) and all(
        isinstance(item, ast.Constant) and isinstance(item.value, str) for item in node.elts
    ):
        return frozenset(str(item.value) for item in node.elts if isinstance(item, ast.Constant))
    return None


def string_argument(call: ast.Call, keyword: str, position: int | None = None) -> str | None:
    """A call's argument, by keyword or by position, when it is a literal string."""
    node: ast.expr | None = None
    if position is not None and len(call.args) > position:
        node = call.args[position]
    for item in call.keywords:
        if item.arg == keyword:
            node = item.value
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return node.value
    return None


def metrics_in(path: Path) -> Iterator[Metric]:
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    constants: dict[str, ast.expr] = {
        target.id: statement.value
        for statement in tree.body
        if isinstance(statement, ast.Assign)
        for target in statement.targets
        if isinstance(target, ast.Name)
    }
    for node in ast.walk(tree):
        if not isinstance(node, ast.Call):
            continue
        function = node.func
        called = function.id if isinstance(function, ast.Name) else None
        if isinstance(function, ast.Attribute):
            called = function.attr
        if called not in METRIC_KINDS:
            continue
        name = string_argument(node, "name", 0)
        if name is None:
            continue  # collections.Counter() and the like
        parts = [string_argument(node, key) for key in ("namespace", "subsystem")]
        name = "_".join(part for part in [*parts, name] if part)
        if not name.startswith(PREFIX):
            continue
        kind = METRIC_KINDS[called]
        if kind == "counter":
            name = name.removesuffix("_total") + "_total"
        labels_node: ast.expr | None = node.args[2] if len(node.args) > 2 else None
        for item in node.keywords:
            if item.arg == "labelnames":
                labels_node = item.value
        labels = literal_strings(labels_node, constants)
        yield Metric(name, kind, labels, f"{path.relative_to(REPO)}:{node.lineno}")


def defined_metrics() -> dict[str, Metric]:
    metrics: dict[str, Metric] = {}
    for directory in SOURCE_DIRS:
        for path in sorted(directory.rglob("*.py")):
            for metric in metrics_in(path):
                metrics.setdefault(metric.name, metric)
    return metrics


def defined_series() -> dict[str, tuple[Metric, frozenset[str]]]:
    """Every series name the code exposes → its metric and its labels."""
    return {
        series: (metric, labels)
        for metric in defined_metrics().values()
        for series, labels in metric.series().items()
    }


def test_the_source_scan_sees_what_the_kit_registers() -> None:
    """The scan and prometheus_client agree on kit/metrics.py: names, kinds and labels."""
    import prometheus_client.metrics

    import kit.metrics

    scanned = defined_metrics()
    registered = [
        value
        for value in vars(kit.metrics).values()
        if isinstance(value, prometheus_client.metrics.MetricWrapperBase)
    ]
    assert registered, "kit.metrics defines no metric"
    for metric in registered:
        (family,) = metric.describe()
        name = family.name + ("_total" if family.type == "counter" else "")
        assert name in scanned, f"{name} is registered but the scan of kit/ misses it"
        assert scanned[name].kind == family.type
        assert scanned[name].labels == frozenset(metric._labelnames), name


# ------------------------------------------------------------------------------ what configs use


def load_yaml(path: Path) -> Any:
    with path.open(encoding="utf-8") as handle:
        return yaml.safe_load(handle)


def rules() -> list[dict[str, Any]]:
    document = load_yaml(ALERTS)
    return [rule for group in document["groups"] for rule in group["rules"]]


def alert_rules() -> list[dict[str, Any]]:
    return [rule for rule in rules() if "alert" in rule]


def recorded_names() -> set[str]:
    return {rule["record"] for rule in rules() if "record" in rule}


def load_dashboard() -> dict[str, Any]:
    with DASHBOARD.open(encoding="utf-8") as handle:
        document: dict[str, Any] = json.load(handle)
    return document


def all_panels(panels: list[dict[str, Any]]) -> Iterator[dict[str, Any]]:
    """Every panel, those inside collapsed rows included."""
    for panel in panels:
        yield panel
        yield from all_panels(panel.get("panels", []))


def dashboard_exprs() -> Iterator[tuple[str, str]]:
    dashboard = load_dashboard()
    for panel in all_panels(dashboard["panels"]):
        for target in panel.get("targets", []):
            if target.get("expr"):
                yield (
                    f"panel {panel['id']} {panel.get('title')!r} {target.get('refId')}",
                    target["expr"],
                )
    for variable in dashboard.get("templating", {}).get("list", []):
        query = variable.get("query")
        if isinstance(query, dict):
            query = query.get("query")
        if variable.get("type") == "query" and isinstance(query, str):
            yield f"variable {variable['name']}", query


def alert_exprs() -> Iterator[tuple[str, str]]:
    for rule in rules():
        yield f"rule {rule.get('alert') or rule.get('record')}", str(rule["expr"])


EXPR_SOURCES = {"alerts.yml": alert_exprs, "dashboard": dashboard_exprs}

STRING = re.compile(r'"(?:[^"\\]|\\.)*"|\'(?:[^\'\\]|\\.)*\'|`[^`]*`')
IDENTIFIER = re.compile(r"[A-Za-z_:][A-Za-z0-9_:]*")
SELECTOR = re.compile(r"(?<![\w:])(civicflow_\w+)\s*\{([^}]*)\}")
MATCHER_LABEL = re.compile(r"([A-Za-z_]\w*)\s*(?:=~|!~|!=|=)")
GROUPING = re.compile(r"\b(by|without)\s*\(([^)]*)\)")


def without_strings(expr: str) -> str:
    """The expression with every string literal emptied: label values are not names."""
    return STRING.sub('""', expr)


def names_in(expr: str) -> tuple[set[str], set[str]]:
    """(civicflow series names, recording-rule names) an expression refers to."""
    series: set[str] = set()
    recorded: set[str] = set()
    for match in IDENTIFIER.finditer(without_strings(expr)):
        token = match.group()
        if ":" in token:
            recorded.add(token)
        elif token.startswith(PREFIX):
            series.add(token)
    return series, recorded


def balanced(text: str, start: int, step: int) -> int:
    """The index of the parenthesis matching the one at ``start``, scanning by ``step`` (±1)."""
    depth = 0
    index = start
    while 0 <= index < len(text):
        depth += {"(": 1, ")": -1}.get(text[index], 0) * step
        if depth == 0:
            return index
        index += step
    raise ValueError(f"unbalanced parentheses in {text!r}")


def grouping_clauses(expr: str) -> Iterator[tuple[str, set[str], str]]:
    """(by|without, its labels, the aggregated argument) of each aggregation: both
    ``sum by (a) (x)`` and ``sum (x) by (a)``."""
    text = without_strings(expr)
    for match in GROUPING.finditer(text):
        labels = {label.strip() for label in match.group(2).split(",") if label.strip()}
        after = match.end()
        while after < len(text) and text[after].isspace():
            after += 1
        if after < len(text) and text[after] == "(":
            argument = text[after : balanced(text, after, 1) + 1]
        else:
            before = match.start() - 1
            while before >= 0 and text[before].isspace():
                before -= 1
            if before < 0 or text[before] != ")":
                raise ValueError(f"cannot find what {match.group()} groups in {expr!r}")
            argument = text[balanced(text, before, -1) : before + 1]
        yield match.group(1), labels, argument


def test_the_promql_scan_reads_names_labels_and_both_grouping_forms() -> None:
    expr = (
        'sum by (job, queue) (rate(civicflow_a_total{kind="civicflow_not_a_name"}[5m]))'
        " / on (job) group_left sum(civicflow_b) without (instance) + level:civicflow_c:rate1h"
    )
    assert names_in(expr) == ({"civicflow_a_total", "civicflow_b"}, {"level:civicflow_c:rate1h"})
    clauses = [
        (keyword, labels, names_in(argument)[0])
        for keyword, labels, argument in grouping_clauses(expr)
    ]
    assert clauses == [
        ("by", {"job", "queue"}, {"civicflow_a_total"}),
        ("without", {"instance"}, {"civicflow_b"}),
    ]
    assert [m.group(1) for m in SELECTOR.finditer(without_strings(expr))] == ["civicflow_a_total"]


@pytest.mark.parametrize("source", sorted(EXPR_SOURCES))
def test_every_metric_used_is_defined_in_code(source: str) -> None:
    known = defined_series()
    recorded = recorded_names()
    problems: list[str] = []
    used = 0
    for where, expr in EXPR_SOURCES[source]():
        series, rules_used = names_in(expr)
        used += len(series)
        problems += [
            f"{where}: {name} is exported by no code" for name in sorted(series - known.keys())
        ]
        problems += [
            f"{where}: {name} is recorded by no rule of alerts.yml"
            for name in sorted(rules_used - recorded)
        ]
    assert used, f"{source} uses no civicflow metric"
    searched = ", ".join(str(directory.relative_to(REPO)) for directory in SOURCE_DIRS)
    assert not problems, (
        f"metrics {source} uses that no Counter/Gauge/Histogram in {searched} defines:\n"
        + "\n".join(problems)
    )


@pytest.mark.parametrize("source", sorted(EXPR_SOURCES))
def test_every_label_used_is_a_label_of_its_metric(source: str) -> None:
    """Label matchers ``metric{label=…}`` and ``by (…)`` / ``without (…)`` clauses name labels
    the metric has (or Prometheus adds). Metrics the code does not define are left to
    test_every_metric_used_is_defined_in_code."""
    known = defined_series()
    problems: list[str] = []

    def labels_of(name: str) -> frozenset[str] | None:
        metric, labels = known[name]
        return None if metric.labels is None else labels | SCRAPE_LABELS

    for where, expr in EXPR_SOURCES[source]():
        for selector in SELECTOR.finditer(without_strings(expr)):
            name = selector.group(1)
            allowed = labels_of(name) if name in known else None
            if allowed is None:
                continue
            for label in MATCHER_LABEL.findall(selector.group(2)):
                if label != "__name__" and label not in allowed:
                    problems.append(f"{where}: {name} has no label {label!r}")
        for keyword, labels, argument in grouping_clauses(expr):
            for name in sorted(names_in(argument)[0] & known.keys()):
                allowed = labels_of(name)
                if allowed is None:
                    continue
                problems += [
                    f"{where}: {keyword} ({label}) over {name}, which has no label {label!r} "
                    f"(it has {', '.join(sorted(allowed))})"
                    for label in sorted(labels - allowed)
                ]
    assert not problems, "\n".join(problems)


# ------------------------------------------------------------------------------------- the rules


def test_every_alert_has_a_severity_and_bilingual_annotations() -> None:
    cjk = re.compile(r"[\u4e00-\u9fff]")
    latin = re.compile(r"[A-Za-z]{3,}")
    alerts = alert_rules()
    assert alerts, "alerts.yml has no alert"
    for rule in alerts:
        name = rule["alert"]
        assert rule.get("labels", {}).get("severity") in SEVERITIES, f"{name}: severity"
        for key in ("summary", "description"):
            text = rule.get("annotations", {}).get(key, "")
            assert cjk.search(text) and latin.search(text), f"{name}: {key} in Chinese and English"


def test_the_required_alerts_exist() -> None:
    names = {rule["alert"] for rule in alert_rules()}
    required = {
        "DeadLetterQueueNotEmpty",
        "OutboxStuck",
        "ConsumerDown",
        "ServiceDown",
        "HighOverdueRate",
        "HandlerErrors",
        "QueueBacklog",
        "HTTPErrorRate",
    }
    assert required <= names, f"missing alerts: {sorted(required - names)}"


def test_every_alert_is_tested_firing_and_silent() -> None:
    """alerts.test.yml shows each alert firing on some series and silent on others."""
    fires: set[str] = set()
    silent: set[str] = set()
    for case in load_yaml(ALERTS_TESTS)["tests"]:
        for check in case.get("alert_rule_test", []):
            (fires if check.get("exp_alerts") else silent).add(check["alertname"])
    names = {rule["alert"] for rule in alert_rules()}
    assert not names - fires, f"never tested firing: {sorted(names - fires)}"
    assert not names - silent, f"never tested silent: {sorted(names - silent)}"
    assert not (fires | silent) - names, f"tests of no alert: {sorted((fires | silent) - names)}"


def test_every_service_and_the_broker_are_scraped() -> None:
    config = load_yaml(PROMETHEUS_CONFIG)
    jobs = {job["job_name"]: job for job in config["scrape_configs"]}
    for service in SERVICES:
        assert service in jobs, f"no scrape job for {service}"
        targets = [
            target for static in jobs[service]["static_configs"] for target in static["targets"]
        ]
        assert targets == [f"{service}:{DEFAULT_PORTS[service]}"], service
        assert jobs[service].get("metrics_path", "/metrics") == "/metrics"
    assert jobs["rabbitmq"]["static_configs"][0]["targets"] == ["rabbitmq:15692"]
    detailed = jobs["rabbitmq-detailed"]
    assert detailed["metrics_path"] == "/metrics/detailed"
    assert "queue_coarse_metrics" in detailed["params"]["family"]
    assert config["rule_files"] == ["alerts.yml"]
    # the alert ServiceDown watches exactly the services
    (service_down,) = [rule for rule in alert_rules() if rule["alert"] == "ServiceDown"]
    watched = re.search(r'job=~"([^"]+)"', service_down["expr"])
    assert watched and set(watched.group(1).split("|")) == set(SERVICES)


# ------------------------------------------------------------------------------------ the dashboard


def test_dashboard_panels_are_well_formed() -> None:
    dashboard = load_dashboard()
    assert 36 <= dashboard["schemaVersion"] <= 41
    assert dashboard["uid"] and dashboard["title"]
    panels = list(all_panels(dashboard["panels"]))
    ids = [panel["id"] for panel in panels]
    assert len(ids) == len(set(ids)), f"panel ids repeat: {sorted(ids)}"
    variables = {variable["name"]: variable for variable in dashboard["templating"]["list"]}
    for panel in panels:
        title = panel.get("title", "")
        assert title and re.search(r"[\u4e00-\u9fff]", title) and re.search(r"[A-Za-z]", title), (
            f"panel {panel['id']}: a title in Chinese and English"
        )
        assert {"x", "y", "w", "h"} <= panel.get("gridPos", {}).keys(), title
        if panel["type"] == "row":
            continue
        datasource = panel.get("datasource") or {}
        assert datasource.get("type") == "prometheus", f"{title}: a Prometheus data source"
        uid = datasource.get("uid")
        assert uid == DATASOURCE_UID or (
            uid == "${DS_PROMETHEUS}" and variables["DS_PROMETHEUS"]["type"] == "datasource"
        ), f"{title}: data source uid {uid!r}"
        targets = panel.get("targets") or []
        assert targets and all(target.get("expr") for target in targets), f"{title}: a query"
        ref_ids = [target.get("refId") for target in targets]
        assert len(ref_ids) == len(set(ref_ids)), f"{title}: refIds repeat"


def test_dashboard_covers_the_platform() -> None:
    """The panels the operators asked for are there, by the metric they draw."""
    used = set()
    for _, expr in dashboard_exprs():
        used |= names_in(expr)[0]
    wanted = {
        "civicflow_cases_received_total",
        "civicflow_cases_dispatched_total",
        "civicflow_sla_alerts_total",
        "civicflow_escalations_total",
        "civicflow_notifications_total",
        "civicflow_handler_duration_seconds_bucket",
        "civicflow_queue_messages",
        "civicflow_dead_letter_messages",
        "civicflow_outbox_backlog",
        "civicflow_outbox_oldest_age_seconds",
        "civicflow_http_requests_total",
        "civicflow_messages_failed_total",
    }
    assert not wanted - used, f"no panel draws {sorted(wanted - used)}"


def test_grafana_provisioning_loads_the_dashboard_and_the_data_source() -> None:
    datasources = load_yaml(GRAFANA_DATASOURCES)["datasources"]
    (prometheus,) = [source for source in datasources if source["type"] == "prometheus"]
    assert prometheus["uid"] == DATASOURCE_UID
    assert prometheus["url"] == "http://prometheus:9090"
    (provider,) = load_yaml(GRAFANA_DASHBOARDS)["providers"]
    assert provider["type"] == "file"
    assert provider["options"]["path"] == "/var/lib/grafana/dashboards"
    variables = {variable["name"]: variable for variable in load_dashboard()["templating"]["list"]}
    assert variables["DS_PROMETHEUS"]["current"]["value"] == DATASOURCE_UID
