"""The deployment artefacts: deploy/Dockerfile, deploy/docker-compose.yml and deploy/k8s.

Each file is validated against its official schema, vendored under tests/support/schemas (the
README there says where each comes from), and held to the code: the services of
``kit.settings``, their ports, the queues they really declare, the secrets they really read,
the broker's shape of deploy/rabbitmq/definitions.json. No network, no container engine.
"""

from __future__ import annotations

import copy
import inspect
import json
import re
import tomllib
from collections.abc import Iterator
from dataclasses import dataclass
from functools import cache
from pathlib import Path, PurePosixPath
from typing import Any
from urllib.parse import unquote, urlsplit

import jsonschema
import pytest
import yaml
from nameko.extensions import ENTRYPOINT_EXTENSIONS_ATTR
from nameko.rpc import RPC_QUEUE_TEMPLATE, Rpc
from referencing import Registry, Resource

from civicflow.cli import build_parser
from civicflow.registry import service_class
from kit import brokeradmin
from kit.file_store import S3Settings
from kit.messaging import MessageEntrypoint
from kit.settings import DEFAULT_PORTS, SERVICES, Settings
from kit.topology import DLQ_SUFFIX, work_queue_arguments
from services.intake.domain import SourceRegistry

REPO = Path(__file__).resolve().parents[2]
DEPLOY = REPO / "deploy"
K8S = DEPLOY / "k8s"
DOCKERFILE = DEPLOY / "Dockerfile"
COMPOSE_FILE = DEPLOY / "docker-compose.yml"
COMPOSE_ENV_EXAMPLE = DEPLOY / "compose" / "civicflow.env.example"
SCHEMAS = REPO / "tests" / "support" / "schemas"
K8S_SCHEMAS = SCHEMAS / "kubernetes" / "v1.33.0"
CRD_SCHEMAS = SCHEMAS / "crds"
OBJECT_META = (
    "https://kubernetes.io/api/_definitions.json"
    "#/$defs/io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta"
)

IMAGE_REPOSITORY = "civicflow/civicflow"
RABBITMQ_IMAGE = "rabbitmq:3.13-management"
SCALABLE = ("intake", "dispatch", "supervision", "notify")
"""Replicated in compose (the others may be too)."""
MEMORY_LIMIT = 256 * 2**20
"""No service above 250 MB RSS: the limit every civicflow container gets."""
NOT_IN_CONFIGMAP = {"keys.yml"}
"""deploy/config files kept out of the cluster: keys.yml holds dev keys only."""
PHONE_KEYS = {"CIVICFLOW_PHONE_KEYS", "CIVICFLOW_PHONE_HASH_KEY"}

Manifest = dict[str, Any]


# --- reading the files ---


def load_yaml(path: Path) -> Any:
    return yaml.safe_load(path.read_text(encoding="utf-8"))


def version() -> str:
    with (REPO / "pyproject.toml").open("rb") as handle:
        return str(tomllib.load(handle)["project"]["version"])


@cache
def compose() -> dict[str, Any]:
    document = load_yaml(COMPOSE_FILE)
    assert isinstance(document, dict)
    return document


def compose_service(name: str) -> dict[str, Any]:
    services: dict[str, Any] = compose()["services"]
    assert name in services, f"docker-compose.yml has no service {name!r}"
    return dict(services[name])


def civicflow_compose_services() -> dict[str, dict[str, Any]]:
    """The compose services that run the civicflow image (the services and the one-shots)."""
    return {
        name: service
        for name, service in compose()["services"].items()
        if str(service.get("image", "")).startswith(IMAGE_REPOSITORY + ":")
    }


def env_file_keys(path: Path) -> dict[str, str]:
    pairs = {}
    for line in path.read_text(encoding="utf-8").splitlines():
        if line.strip() and not line.lstrip().startswith("#"):
            key, _, value = line.partition("=")
            pairs[key.strip()] = value.strip()
    return pairs


@cache
def kustomization() -> dict[str, Any]:
    document = load_yaml(K8S / "kustomization.yaml")
    assert isinstance(document, dict)
    return document


@cache
def manifests() -> tuple[tuple[str, Manifest], ...]:
    """Every object of deploy/k8s (the kustomization's resources), with its file."""
    found = []
    for resource in kustomization()["resources"]:
        path = K8S / resource
        for document in yaml.safe_load_all(path.read_text(encoding="utf-8")):
            if document:
                found.append((resource, document))
    return tuple(found)


def of_kind(kind: str) -> list[Manifest]:
    return [document for _, document in manifests() if document["kind"] == kind]


def named(kind: str, name: str) -> Manifest:
    matches = [m for m in of_kind(kind) if m["metadata"]["name"] == name]
    assert len(matches) == 1, f"deploy/k8s has {len(matches)} {kind} named {name!r}"
    return matches[0]


def secrets() -> dict[str, dict[str, str]]:
    return {s["metadata"]["name"]: dict(s.get("stringData") or {}) for s in of_kind("Secret")}


def generated_config_maps() -> dict[str, dict[str, str]]:
    """The ConfigMaps kustomize generates: name → keys (a file's name, or a literal's key)."""
    maps: dict[str, dict[str, str]] = {}
    for generator in kustomization().get("configMapGenerator", []):
        entries = {Path(file).name: file for file in generator.get("files", [])}
        entries |= dict(literal.split("=", 1) for literal in generator.get("literals", []))
        maps[generator["name"]] = entries
    return maps


def deployment(service: str) -> Manifest:
    return named("Deployment", service)


def pod_specs() -> list[tuple[str, dict[str, Any]]]:
    """(owner, pod spec) of every Deployment and Job."""
    return [
        (f"{m['kind']}/{m['metadata']['name']}", m["spec"]["template"]["spec"])
        for m in of_kind("Deployment") + of_kind("Job")
    ]


def container(service: str) -> dict[str, Any]:
    containers = deployment(service)["spec"]["template"]["spec"]["containers"]
    assert len(containers) == 1, f"{service}: one container per pod"
    return dict(containers[0])


def container_env(spec: dict[str, Any]) -> dict[str, str | None]:
    """Every variable a container gets: env, and the keys of the ConfigMaps and Secrets of
    envFrom (None where the value comes from elsewhere)."""
    env: dict[str, str | None] = {}
    for source in spec.get("envFrom", []):
        if "configMapRef" in source:
            env |= generated_config_maps()[source["configMapRef"]["name"]]
        if "secretRef" in source:
            env |= secrets()[source["secretRef"]["name"]]
    for variable in spec.get("env", []):
        env[variable["name"]] = variable.get("value")
    return env


def env_literal(name: str) -> str:
    return generated_config_maps()["civicflow-env"][name]


@dataclass(frozen=True)
class Dockerfile:
    instructions: tuple[tuple[str, str], ...]

    @classmethod
    def read(cls) -> Dockerfile:
        text = re.sub(r"\\\n", " ", DOCKERFILE.read_text(encoding="utf-8"))
        lines = [line.strip() for line in text.splitlines()]
        pairs = []
        for line in lines:
            if line and not line.startswith("#"):
                keyword, _, rest = line.partition(" ")
                pairs.append((keyword.upper(), " ".join(rest.split())))
        return cls(tuple(pairs))

    def all(self, keyword: str) -> list[str]:
        return [rest for kw, rest in self.instructions if kw == keyword]

    def last_stage(self) -> list[tuple[str, str]]:
        starts = [i for i, (kw, _) in enumerate(self.instructions) if kw == "FROM"]
        return list(self.instructions[starts[-1] :])

    def resolve(self, text: str) -> str:
        """``${ARG}`` with the ARG's default (those declared before the first FROM)."""
        defaults = dict(arg.split("=", 1) for arg in self.all("ARG") if "=" in arg)
        return re.sub(r"\$\{(\w+)\}", lambda m: defaults[m.group(1)], text)


# --- what the code says ---


@dataclass(frozen=True)
class WorkQueue:
    name: str
    dead_letter_queue: str


@cache
def work_queues() -> dict[str, tuple[WorkQueue, ...]]:
    """Each service's durable work queues, named as ``MessageEntrypoint.setup`` names them."""
    found = {}
    for service in SERVICES:
        cls = service_class(service)
        assert getattr(cls, "name", None) == service
        queues = []
        for method, function in inspect.getmembers(cls, inspect.isfunction):
            for entrypoint in getattr(function, ENTRYPOINT_EXTENSIONS_ATTR, ()):
                if isinstance(entrypoint, MessageEntrypoint):
                    name = entrypoint.queue_name or f"{service}.{method}"
                    dlq = entrypoint.dead_letter_queue_name or name + DLQ_SUFFIX
                    queues.append(WorkQueue(name, dlq))
        found[service] = tuple(queues)
    return found


def rpc_queue(service: str) -> str | None:
    """nameko's RPC queue of a service that exposes RPC methods."""
    for _, function in inspect.getmembers(service_class(service), inspect.isfunction):
        if any(isinstance(e, Rpc) for e in getattr(function, ENTRYPOINT_EXTENSIONS_ATTR, ())):
            return str(RPC_QUEUE_TEMPLATE.format(service))
    return None


def declared_queues(service: str) -> set[str]:
    queues = {q.name for q in work_queues()[service]}
    rpc = rpc_queue(service)
    return queues | {rpc} if rpc else queues


@cache
def definitions() -> dict[str, Any]:
    document = json.loads((DEPLOY / "rabbitmq" / "definitions.json").read_text(encoding="utf-8"))
    assert isinstance(document, dict)
    return document


def vhost() -> str:
    return str(definitions()["vhosts"][0]["name"])


def broker_password_variable(user: str) -> str:
    """The variable ``civicflow broker setup`` reads a user's password from."""
    variable = "CIVICFLOW_BROKER_PASSWORD_" + user.upper().replace("-", "_")
    assert brokeradmin.password_for(user, {variable: "set"}, production=True) == "set"
    return variable


def source_variables() -> set[str]:
    """``CIVICFLOW_SOURCE_<ID>_SECRET`` and ``_API_KEY`` of every source of sources.yml."""
    document = load_yaml(DEPLOY / "config" / "sources.yml")
    variables = {
        f"CIVICFLOW_SOURCE_{source.upper().replace('-', '_')}_{part}"
        for source in document["sources"]
        for part in ("SECRET", "API_KEY")
    }
    # intake takes exactly these names: with all of them set, production accepts the sources
    SourceRegistry.from_config(document, {v: f"real-{v}" for v in variables}, production=True)
    return variables


@cache
def secrets_read_by(service: str) -> frozenset[str]:
    """The secrets a service's code reads from the environment."""
    code = "\n".join(
        path.read_text(encoding="utf-8") for path in (REPO / "services" / service).rglob("*.py")
    )
    names = set(re.findall(r"\bsecret\(\s*settings,\s*\"([A-Z0-9_]+)\"", code))
    names |= set(re.findall(r"\b_(?:need|json)\(\s*env,\s*\"([A-Z0-9_]+)\"", code))
    if "load_vault(" in code:
        names |= PHONE_KEYS
    if "load_phone_index_key" in code:
        names.add("CIVICFLOW_PHONE_INDEX_KEY")
    if service == "intake":
        names |= source_variables()
    return frozenset(names)


# --- units ---


def mebibytes_k8s(quantity: str | int) -> float:
    units = {"Ki": 2**10, "Mi": 2**20, "Gi": 2**30, "k": 1e3, "M": 1e6, "G": 1e9}
    match = re.fullmatch(r"(\d+(?:\.\d+)?)([A-Za-z]*)", str(quantity))
    assert match, f"not a quantity: {quantity!r}"
    return float(match.group(1)) * units.get(match.group(2), 1)


def bytes_compose(size: str | int) -> float:
    """Docker's sizes: b, k, m, g, binary multiples."""
    match = re.fullmatch(r"(\d+(?:\.\d+)?)\s*([bkmg]?)b?", str(size).lower())
    assert match, f"not a size: {size!r}"
    return (
        float(match.group(1)) * {"": 1, "b": 1, "k": 2**10, "m": 2**20, "g": 2**30}[match.group(2)]
    )


# --- schemas ---


@cache
def compose_validator() -> jsonschema.protocols.Validator:
    schema = json.loads((SCHEMAS / "compose-spec.json").read_text(encoding="utf-8"))
    cls = jsonschema.validators.validator_for(schema)
    cls.check_schema(schema)
    validator: jsonschema.protocols.Validator = cls(schema)
    return validator


@cache
def k8s_registry() -> Registry:
    resources = []
    for path in sorted(K8S_SCHEMAS.glob("*.json")):
        document = json.loads(path.read_text(encoding="utf-8"))
        resources.append((document["$id"], Resource.from_contents(document)))
    return Registry().with_resources(resources)


def schema_file(manifest: Manifest) -> Path:
    group, _, api_version = manifest["apiVersion"].rpartition("/")
    kind = manifest["kind"].lower()
    if "." in group:  # a custom resource
        return CRD_SCHEMAS / f"{kind}-{group}-{api_version}.json"
    return K8S_SCHEMAS / f"{kind}-{group.split('.')[0] + '-' if group else ''}{api_version}.json"


def k8s_errors(manifest: Manifest) -> list[str]:
    path = schema_file(manifest)
    assert path.exists(), f"no schema vendored for {manifest['apiVersion']} {manifest['kind']}"
    schema = json.loads(path.read_text(encoding="utf-8"))
    errors = list(
        jsonschema.Draft202012Validator(schema, registry=k8s_registry()).iter_errors(manifest)
    )
    if path.parent == CRD_SCHEMAS:  # the CRD leaves metadata open: Kubernetes' own ObjectMeta
        meta = jsonschema.Draft202012Validator({"$ref": OBJECT_META}, registry=k8s_registry())
        errors += meta.iter_errors(manifest.get("metadata", {}))
    return [f"{'.'.join(map(str, e.absolute_path)) or '<root>'}: {e.message}" for e in errors]


def dockerignored(path: str) -> bool:
    """Whether .dockerignore keeps ``path`` out of the build context (the last matching line
    decides; a directory left out takes its contents with it)."""

    def regex(pattern: str) -> re.Pattern[str]:
        parts = re.split(r"(\*\*/|\*|\?)", pattern.strip("/"))
        wild = {"**/": "(?:.*/)?", "*": "[^/]*", "?": "[^/]"}
        return re.compile("".join(wild.get(part, re.escape(part)) for part in parts))

    rules = []
    for line in (REPO / ".dockerignore").read_text(encoding="utf-8").splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            rules.append((line.startswith("!"), regex(line.lstrip("!"))))
    candidates = [path, *(str(p) for p in PurePosixPath(path).parents if str(p) != ".")]
    ignored = False
    for keep, rule in rules:
        if any(rule.fullmatch(candidate) for candidate in candidates):
            ignored = not keep
    return ignored


# === the image ===


def test_the_image_is_built_in_two_stages_on_python_311_slim() -> None:
    dockerfile = Dockerfile.read()
    stages = [dockerfile.resolve(rest) for rest in dockerfile.all("FROM")]
    assert any(stage.endswith(" AS builder") for stage in stages), stages
    assert len(stages) >= 2
    runtime = stages[-1].split()[0]
    assert re.fullmatch(r"python:3\.11-slim(-\w+)?", runtime), runtime
    copies = [rest for kw, rest in dockerfile.last_stage() if kw == "COPY"]
    assert any(copy.startswith("--from=builder ") for copy in copies), copies
    # the compiler stays in the builder
    runs = " ".join(rest for kw, rest in dockerfile.last_stage() if kw == "RUN")
    assert "gcc" not in runs


def test_the_image_installs_the_pinned_dependencies() -> None:
    dockerfile = Dockerfile.read()
    runs = dockerfile.all("RUN")
    assert any("pip install -c constraints.txt ." in run for run in runs), runs
    assert all("-c constraints.txt" in run for run in runs if "pip install" in run), runs
    assert any("constraints.txt" in copy.split() for copy in dockerfile.all("COPY"))


def test_the_image_runs_as_a_numeric_non_root_user() -> None:
    users = [rest for kw, rest in Dockerfile.read().last_stage() if kw == "USER"]
    assert users, "the runtime stage sets no USER: it would run as root"
    uid, _, gid = users[-1].partition(":")
    # numeric: Kubernetes' runAsNonRoot cannot verify a user name
    assert uid.isdigit() and int(uid) != 0, users[-1]
    assert not gid or (gid.isdigit() and int(gid) != 0), users[-1]
    for owner, pod in pod_specs():
        assert pod["securityContext"]["runAsUser"] == int(uid), owner


def test_the_image_runs_civicflow_and_checks_its_own_health() -> None:
    dockerfile = Dockerfile.read()
    assert json.loads(dockerfile.all("ENTRYPOINT")[-1]) == ["civicflow"]
    command = json.loads(dockerfile.all("CMD")[-1])
    assert command[0] == "run" and command[1] in SERVICES
    build_parser().parse_args(command)
    (healthcheck,) = dockerfile.all("HEALTHCHECK")
    probe = json.loads(healthcheck.partition(" CMD ")[2])
    assert probe[:2] == ["python", "-c"], probe
    compile(probe[2], "HEALTHCHECK", "exec")
    assert "/healthz" in probe[2] and "DEFAULT_PORTS" in probe[2]


def test_the_build_context_holds_what_the_image_copies_and_nothing_else() -> None:
    for copy_args in Dockerfile.read().all("COPY"):
        words = [w for w in copy_args.split() if not w.startswith("--")]
        if copy_args.startswith("--from="):
            continue
        for source in words[:-1]:
            assert (REPO / source).exists(), f"COPY {source}: not in the repository"
            assert not dockerignored(source), f"COPY {source}: .dockerignore leaves it out"
    for kept_out in (".git", ".venv", "var", "tests", "deploy/k8s", "kit/__pycache__"):
        assert dockerignored(kept_out), f"{kept_out} would be sent to the builder"


# === docker compose ===


def test_compose_file_is_valid_against_the_compose_spec() -> None:
    errors = [
        f"{'.'.join(map(str, e.absolute_path))}: {e.message}"
        for e in compose_validator().iter_errors(compose())
    ]
    assert not errors, "\n".join(errors)


def test_the_compose_validator_refuses_a_mistake() -> None:
    broken = copy.deepcopy(compose())
    broken["services"]["dispatch"]["helthcheck"] = broken["services"]["dispatch"]["healthcheck"]
    assert list(compose_validator().iter_errors(broken))
    broken = copy.deepcopy(compose())
    broken["services"]["migrate"]["depends_on"]["postgres"]["condition"] = "healthy"
    assert list(compose_validator().iter_errors(broken))


@pytest.mark.parametrize("service", SERVICES)
def test_compose_runs_every_service_from_the_one_image(service: str) -> None:
    definition = compose_service(service)
    assert definition["command"] == ["run", service]
    build_parser().parse_args(definition["command"])
    assert definition["image"] == f"{IMAGE_REPOSITORY}:${{CIVICFLOW_TAG:-{version()}}}"
    builds = {json.dumps(s["build"], sort_keys=True) for s in civicflow_compose_services().values()}
    assert len(builds) == 1, builds
    build = definition["build"]
    assert (COMPOSE_FILE.parent / build["context"] / build["dockerfile"]).resolve() == DOCKERFILE


def test_compose_migrates_and_sets_up_the_broker_before_any_service_starts() -> None:
    migrate, setup = compose_service("migrate"), compose_service("broker-setup")
    assert migrate["command"] == ["migrate"]
    assert setup["command"] == ["broker", "setup"]
    for one_shot in (migrate, setup):
        build_parser().parse_args(one_shot["command"])
        assert one_shot["restart"] == "no"
    assert migrate["depends_on"]["postgres"]["condition"] == "service_healthy"
    assert setup["depends_on"]["rabbitmq"]["condition"] == "service_healthy"
    for service in SERVICES:
        depends_on = compose_service(service)["depends_on"]
        for first in ("migrate", "broker-setup"):
            assert depends_on[first]["condition"] == "service_completed_successfully", service


@pytest.mark.parametrize("service", SCALABLE)
def test_compose_replicates_the_scalable_services(service: str) -> None:
    assert compose_service(service)["deploy"]["replicas"] in (2, 3)


def test_compose_publishes_no_fixed_port_of_a_replicated_service() -> None:
    for name, service in compose()["services"].items():
        if service.get("deploy", {}).get("replicas", 1) > 1:
            assert "ports" not in service, f"{name}: replicas would fight over the host port"


@pytest.mark.parametrize("service", SERVICES)
def test_compose_healthcheck_asks_healthz_on_the_services_port(service: str) -> None:
    definition = compose_service(service)
    port = DEFAULT_PORTS[service]
    assert f"http://127.0.0.1:{port}/healthz" in " ".join(definition["healthcheck"]["test"])
    assert definition["environment"].get(f"{service.upper()}_PORT", str(port)) == str(port)


def test_compose_checks_the_health_of_every_long_running_service() -> None:
    for name, service in compose()["services"].items():
        if service.get("restart") != "no":
            check = service.get("healthcheck", {})
            assert check.get("test") and not check.get("disable"), f"{name}: no healthcheck"


@pytest.mark.parametrize("service", SERVICES)
def test_compose_holds_every_service_within_256_mib(service: str) -> None:
    limit = compose_service(service)["deploy"]["resources"]["limits"]["memory"]
    assert 0 < bytes_compose(limit) <= MEMORY_LIMIT


@pytest.mark.parametrize("service", SERVICES)
def test_compose_connects_each_service_as_its_own_broker_user(service: str) -> None:
    environment = compose_service(service)["environment"]
    uri = urlsplit(environment["AMQP_URI"])
    user = f"civicflow-{service}"
    assert uri.scheme == "amqp"
    assert uri.username == user
    assert uri.hostname in compose()["services"]
    assert unquote(uri.path[1:]) == vhost()
    dev = brokeradmin.password_for(user, {}, production=False)
    assert uri.password == f"${{{broker_password_variable(user)}:-{dev}}}"
    database = urlsplit(environment["DATABASE_URL"])
    assert database.scheme == "postgresql+psycopg2"
    assert database.hostname in compose()["services"]


def test_compose_has_rabbitmq_with_prometheus_and_postgresql_15() -> None:
    rabbitmq = compose_service("rabbitmq")
    assert rabbitmq["image"] == RABBITMQ_IMAGE
    mounts = dict(volume.rsplit(":", 2)[:2] for volume in rabbitmq["volumes"])
    plugins_file = {target: source for source, target in mounts.items()}[
        "/etc/rabbitmq/enabled_plugins"
    ]
    plugins = (COMPOSE_FILE.parent / plugins_file).read_text(encoding="utf-8")
    assert re.fullmatch(r"\s*\[[\w,\s]*\]\.\s*", plugins), plugins
    assert {"rabbitmq_prometheus", "rabbitmq_management"} <= set(re.findall(r"\w+", plugins))
    assert compose_service("postgres")["image"].startswith("postgres:15")


def bind_mounts(service: dict[str, Any]) -> dict[str, str]:
    """target → source (a path relative to deploy/) of a service's bind mounts."""
    mounts = {}
    for volume in service.get("volumes", []):
        source, target = str(volume).split(":")[:2]
        if source.startswith((".", "/")):
            mounts[target] = source
    return mounts


def test_compose_bind_mounts_exist() -> None:
    for name, service in compose()["services"].items():
        for target, source in bind_mounts(service).items():
            assert (COMPOSE_FILE.parent / source).exists(), f"{name}: {source} → {target}"
    env_files = [f["path"] for s in civicflow_compose_services().values() for f in s["env_file"]]
    for path in env_files:
        assert (COMPOSE_FILE.parent / path).parent.is_dir(), path


def scrape_targets(config: dict[str, Any]) -> set[str]:
    targets = set()
    for job in config.get("scrape_configs", []):
        for static in job.get("static_configs", []):
            targets |= set(static.get("targets", []))
        for dns in job.get("dns_sd_configs", []):
            targets |= {f"{name}:{dns.get('port')}" for name in dns.get("names", [])}
    return targets


def test_compose_prometheus_reads_deploy_prometheus_and_scrapes_every_service() -> None:
    prometheus = compose_service("prometheus")
    mounts = bind_mounts(prometheus)
    config_flag = next(f for f in prometheus["command"] if f.startswith("--config.file="))
    config_target = config_flag.partition("=")[2]
    assert mounts[config_target] == "./prometheus/prometheus.yml"
    assert "./prometheus/alerts.yml" in mounts.values()
    config = load_yaml(DEPLOY / "prometheus" / "prometheus.yml")
    for rule_file in config["rule_files"]:
        target = str(PurePosixPath(config_target).parent / rule_file)
        assert mounts.get(target) == "./prometheus/alerts.yml", f"rule_files: {rule_file}"
    targets = scrape_targets(config)
    for service in SERVICES:
        assert f"{service}:{DEFAULT_PORTS[service]}" in targets, service
    assert "rabbitmq:15692" in targets


def test_compose_grafana_is_provisioned_from_deploy_grafana() -> None:
    grafana = compose_service("grafana")
    mounts = bind_mounts(grafana)
    assert mounts["/etc/grafana/provisioning"] == "./grafana/provisioning"
    provisioning = DEPLOY / "grafana" / "provisioning"
    datasources = [
        source
        for path in sorted((provisioning / "datasources").glob("*.y*ml"))
        for source in load_yaml(path).get("datasources", [])
    ]
    assert any(
        s.get("type") == "prometheus" and s.get("url") == "http://prometheus:9090"
        for s in datasources
    ), datasources
    providers = [
        provider
        for path in sorted((provisioning / "dashboards").glob("*.y*ml"))
        for provider in load_yaml(path).get("providers", [])
    ]
    assert providers
    for provider in providers:
        path = PurePosixPath(provider["options"]["path"])
        mounted = [
            t for t in mounts if path == PurePosixPath(t) or PurePosixPath(t) in path.parents
        ]
        assert mounted, f"dashboards at {path}: not a mount of the grafana service"
        source = COMPOSE_FILE.parent / mounts[mounted[0]] / path.relative_to(mounted[0])
        assert list(source.glob("*.json")), f"no dashboard in {source}"


def test_compose_secrets_come_from_one_env_file_listing_all_the_code_reads() -> None:
    example = env_file_keys(COMPOSE_ENV_EXAMPLE)
    assert example["CIVICFLOW_ENV"] == "production"
    for name, definition in civicflow_compose_services().items():
        (env_file,) = definition["env_file"]
        assert env_file == {"path": "./compose/civicflow.env", "required": False}, name
        assert (COMPOSE_FILE.parent / env_file["path"]).parent == COMPOSE_ENV_EXAMPLE.parent
    for service in SERVICES:
        given = set(example) | set(compose_service(service)["environment"])
        missing = secrets_read_by(service) - given
        assert not missing, f"{service} reads {sorted(missing)}: not in {COMPOSE_ENV_EXAMPLE.name}"
    for user in definitions()["users"]:
        assert broker_password_variable(user["name"]) in example, user["name"]
    # and so is every variable compose substitutes (${...})
    variables = set(re.findall(r"\$\{(\w+)", COMPOSE_FILE.read_text(encoding="utf-8")))
    assert variables <= set(example), variables - set(example)


# === Kubernetes ===


def test_kustomization_lists_every_manifest_and_every_config_file() -> None:
    listed = set(kustomization()["resources"])
    on_disk = {
        str(path.relative_to(K8S))
        for path in K8S.rglob("*.yaml")
        if path.name != "kustomization.yaml"
    }
    assert listed == on_disk
    (namespace,) = of_kind("Namespace")
    assert kustomization()["namespace"] == namespace["metadata"]["name"]
    files = generated_config_maps()["civicflow-config"].values()
    for file in files:
        assert (K8S / file).is_file(), file
    config = {p.name for p in (DEPLOY / "config").glob("*.yml")} - NOT_IN_CONFIGMAP
    assert {Path(file).name for file in files} == config
    (image,) = kustomization()["images"]
    assert image == {"name": IMAGE_REPOSITORY, "newTag": version()}


@pytest.mark.parametrize(
    "manifest",
    [document for _, document in manifests()],
    ids=[f"{file}:{d['kind']}/{d['metadata']['name']}" for file, d in manifests()],
)
def test_k8s_manifest_is_valid_against_its_schema(manifest: Manifest) -> None:
    errors = k8s_errors(manifest)
    assert not errors, "\n".join(errors)


def test_the_k8s_validators_refuse_a_mistake() -> None:
    broken = copy.deepcopy(deployment("dispatch"))
    broken["spec"]["template"]["spec"]["containers"][0]["imagePullPolicyy"] = "Always"
    assert k8s_errors(broken)
    broken = copy.deepcopy(named("ScaledObject", "dispatch"))
    broken["spec"]["triggers"][0]["metdata"] = broken["spec"]["triggers"][0].pop("metadata")
    assert k8s_errors(broken)
    broken = copy.deepcopy(named("Queue", "notify-tell"))
    broken["metadata"]["labels"] = {"app": 5}
    assert k8s_errors(broken)


@pytest.mark.parametrize("service", SERVICES)
def test_k8s_has_a_deployment_a_service_and_a_disruption_budget_per_service(
    service: str,
) -> None:
    spec = container(service)
    assert spec["args"] == ["run", service]
    build_parser().parse_args(spec["args"])
    pods = deployment(service)["spec"]["template"]["metadata"]["labels"]
    selector = deployment(service)["spec"]["selector"]["matchLabels"]
    assert selector.items() <= pods.items()
    assert named("Service", service)["spec"]["selector"] == selector
    assert named("PodDisruptionBudget", service)["spec"]["selector"]["matchLabels"] == selector


@pytest.mark.parametrize("service", SERVICES)
def test_k8s_probes_and_ports_are_the_services_port(service: str) -> None:
    spec = container(service)
    port = DEFAULT_PORTS[service]
    ports = {p["name"]: p["containerPort"] for p in spec["ports"]}
    assert list(ports.values()) == [port]

    def resolved(value: int | str) -> int:
        return ports[value] if isinstance(value, str) else value

    for probe in ("readinessProbe", "livenessProbe", "startupProbe"):
        check = spec[probe]["httpGet"]
        assert check["path"] == "/healthz", probe
        assert resolved(check["port"]) == port, probe
    assert container_env(spec).get(f"{service.upper()}_PORT", str(port)) == str(port)
    (service_port,) = named("Service", service)["spec"]["ports"]
    assert service_port["port"] == port and resolved(service_port["targetPort"]) == port
    annotations = deployment(service)["spec"]["template"]["metadata"]["annotations"]
    assert annotations["prometheus.io/port"] == str(port)
    assert annotations["prometheus.io/path"] == "/metrics"


def test_k8s_pods_run_as_non_root_within_256_mib() -> None:
    for owner, pod in pod_specs():
        assert pod["securityContext"]["runAsNonRoot"] is True, owner
        assert pod.get("automountServiceAccountToken") is False, owner
        for spec in pod["containers"]:
            context = spec["securityContext"]
            assert context["allowPrivilegeEscalation"] is False, owner
            assert context["readOnlyRootFilesystem"] is True, owner
            assert context["capabilities"]["drop"] == ["ALL"], owner
            resources = spec["resources"]
            assert 0 < mebibytes_k8s(resources["limits"]["memory"]) <= MEMORY_LIMIT, owner
            assert mebibytes_k8s(resources["requests"]["memory"]) <= mebibytes_k8s(
                resources["limits"]["memory"]
            )
            assert resources["requests"]["cpu"], owner


def test_one_image_for_every_service_in_compose_and_k8s() -> None:
    images = {spec["image"] for _, pod in pod_specs() for spec in pod["containers"]}
    assert images == {f"{IMAGE_REPOSITORY}:{version()}"}
    compose_images = {s["image"] for s in civicflow_compose_services().values()}
    assert compose_images == {f"{IMAGE_REPOSITORY}:${{CIVICFLOW_TAG:-{version()}}}"}
    assert {"migrate", "broker-setup", *SERVICES} <= set(civicflow_compose_services())


def test_k8s_migrates_with_a_job() -> None:
    (job,) = of_kind("Job")
    pod = job["spec"]["template"]["spec"]
    (spec,) = pod["containers"]
    assert spec["args"] == ["migrate"]
    build_parser().parse_args(spec["args"])
    assert pod["restartPolicy"] in ("OnFailure", "Never")
    assert "DATABASE_URL" in container_env(spec)


@pytest.mark.parametrize("service", SERVICES)
def test_k8s_scales_each_service_on_the_queues_its_code_declares(service: str) -> None:
    scaled = named("ScaledObject", service)["spec"]
    assert scaled["scaleTargetRef"]["name"] == service
    assert scaled["scaleTargetRef"].get("kind", "Deployment") == "Deployment"
    # KEDA's HPA owns the replica count: a replicas field would reset it on every apply
    assert "replicas" not in deployment(service)["spec"]
    assert 2 <= scaled["minReplicaCount"] <= scaled["maxReplicaCount"]
    triggers = [t for t in scaled["triggers"] if t["type"] == "rabbitmq"]
    queues = {t["metadata"]["queueName"] for t in triggers}
    assert queues <= declared_queues(service), queues - declared_queues(service)
    assert {q.name for q in work_queues()[service]} <= queues
    for trigger in triggers:
        metadata = trigger["metadata"]
        assert metadata["mode"] == "QueueLength"
        assert metadata["protocol"] in ("amqp", "http", "auto")
        assert metadata["vhostName"] == vhost()
        assert int(metadata["value"]) > 0
        auth = named("TriggerAuthentication", trigger["authenticationRef"]["name"])
        (host,) = [r for r in auth["spec"]["secretTargetRef"] if r["parameter"] == "host"]
        assert host["key"] in secrets()[host["name"]]
    if any(t["type"] == "cpu" for t in scaled["triggers"]):
        assert container(service)["resources"]["requests"]["cpu"]


def test_the_code_declares_work_queues_for_the_consumers() -> None:
    assert "dispatch.route_case" in {q.name for q in work_queues()["dispatch"]}
    assert rpc_queue("grid") == "rpc-grid"
    assert all(work_queues()[service] for service in SCALABLE)


def test_k8s_secrets_hold_placeholders_only() -> None:
    for secret in of_kind("Secret"):
        name = secret["metadata"]["name"]
        assert "data" not in secret, f"{name}: base64 data hides what is in it"
        for key, value in secret["stringData"].items():
            if key != "username":
                assert "REPLACE_ME" in value, f"{name}.{key}: a real-looking secret in the repo"


def test_k8s_references_only_secrets_and_config_maps_that_exist() -> None:
    maps = generated_config_maps()
    for owner, pod in pod_specs():
        for spec in pod["containers"]:
            for source in spec.get("envFrom", []):
                if "configMapRef" in source:
                    assert source["configMapRef"]["name"] in maps, owner
                if "secretRef" in source:
                    assert source["secretRef"]["name"] in secrets(), owner
            for variable in spec.get("env", []):
                ref = variable.get("valueFrom", {}).get("secretKeyRef")
                if ref:
                    assert ref["key"] in secrets()[ref["name"]], f"{owner}: {ref}"
        for volume in pod.get("volumes", []):
            if "configMap" in volume:
                assert volume["configMap"]["name"] in maps, owner
    for user in of_kind("User"):
        assert user["spec"]["importCredentialsSecret"]["name"] in secrets()


@pytest.mark.parametrize("service", SERVICES)
def test_k8s_gives_each_service_the_secrets_its_code_reads(service: str) -> None:
    missing = secrets_read_by(service) - set(container_env(container(service)))
    assert not missing, f"{service} reads {sorted(missing)}"


def services_keeping_files() -> list[str]:
    """The services whose code keeps files (photos, PDFs) through ``kit.file_store``."""
    return [
        service
        for service in SERVICES
        if any(
            "file_store_from" in path.read_text(encoding="utf-8")
            for path in (REPO / "services" / service).rglob("*.py")
        )
    ]


def test_k8s_keeps_files_in_s3_where_every_replica_finds_them() -> None:
    # a pod's emptyDir dies with the pod and is not shared: a photo stored by one replica
    # would be missing from the next
    keeping = services_keeping_files()
    assert set(keeping) == {"intake", "console"}, keeping
    for service in keeping:
        env = container_env(container(service))
        assert env.get("CIVICFLOW_FILE_STORE") == "s3", service
        settings = S3Settings.from_env({k: v for k, v in env.items() if v is not None})
        assert settings.bucket and settings.endpoint_url, service
        assert settings.access_key_id and settings.secret_access_key, service


def test_the_code_reads_the_secrets_we_know_of() -> None:
    assert "CIVICFLOW_CONSOLE_SECRET" in secrets_read_by("console")
    assert "CIVICFLOW_NOTIFY_CALLBACK_TOKEN" in secrets_read_by("notify")
    assert "CIVICFLOW_SOURCE_HOTLINE_SECRET" in secrets_read_by("intake")
    assert secrets_read_by("intake") >= PHONE_KEYS
    assert "CIVICFLOW_PHONE_INDEX_KEY" in secrets_read_by("intake") & secrets_read_by("console")


@pytest.mark.parametrize("service", SERVICES)
def test_k8s_connects_each_service_as_its_own_broker_user(service: str) -> None:
    spec = container(service)
    env = {variable["name"]: variable for variable in spec["env"]}
    uri = urlsplit(env["AMQP_URI"]["value"])
    user = f"civicflow-{service}"
    (cluster,) = of_kind("RabbitmqCluster")
    assert uri.scheme == "amqp" and uri.username == user
    assert uri.hostname == cluster["metadata"]["name"]
    assert unquote(uri.path[1:]) == vhost()
    password = re.fullmatch(r"\$\((\w+)\)", uri.password or "")
    assert password, "the password comes from a Secret, through a variable defined before"
    names = list(env)
    assert names.index(password.group(1)) < names.index("AMQP_URI")
    ref = env[password.group(1)]["valueFrom"]["secretKeyRef"]
    assert secrets()[ref["name"]]["username"] == user


@pytest.mark.parametrize("service", SERVICES)
def test_k8s_mounts_the_config_where_the_settings_look(service: str) -> None:
    pod = deployment(service)["spec"]["template"]["spec"]
    volumes = {v["name"]: v for v in pod["volumes"]}
    mounts = {m["mountPath"]: volumes[m["name"]] for m in container(service)["volumeMounts"]}
    assert mounts[env_literal("CIVICFLOW_CONFIG_DIR")]["configMap"]["name"] == "civicflow-config"
    assert "emptyDir" in mounts[env_literal("CIVICFLOW_DATA_DIR")]
    assert env_literal("CIVICFLOW_ENV") == "production"


def test_rabbitmq_cluster_has_three_nodes_of_the_compose_image() -> None:
    (cluster,) = of_kind("RabbitmqCluster")
    assert cluster["spec"]["replicas"] == 3
    assert cluster["spec"]["image"] == compose_service("rabbitmq")["image"] == RABBITMQ_IMAGE


def topology(kind: str) -> Iterator[dict[str, Any]]:
    (cluster,) = of_kind("RabbitmqCluster")
    for manifest in of_kind(kind):
        assert manifest["spec"]["rabbitmqClusterReference"] == {
            "name": cluster["metadata"]["name"]
        }, manifest["metadata"]["name"]
        yield manifest["spec"]


def test_k8s_topology_has_the_vhost_exchanges_and_policies_of_definitions() -> None:
    assert [spec["name"] for spec in topology("Vhost")] == [vhost()]
    exchanges = {spec["name"]: spec for spec in topology("Exchange")}
    for exchange in definitions()["exchanges"]:
        spec = exchanges[exchange["name"]]
        assert spec["vhost"] == vhost()
        assert spec["type"] == exchange["type"]
        assert spec["durable"] == exchange["durable"]
        assert spec["autoDelete"] == exchange["auto_delete"]
    policies = {spec["name"]: spec for spec in topology("Policy")}
    for policy in definitions()["policies"]:
        spec = policies[policy["name"]]
        assert spec["vhost"] == vhost()
        assert spec["pattern"] == policy["pattern"]
        assert spec["applyTo"] == policy["apply-to"]
        assert spec["priority"] == policy["priority"]
        assert spec["definition"] == policy["definition"]


def test_k8s_topology_has_the_users_and_permissions_of_definitions() -> None:
    usernames: dict[str, str] = {}  # User object → RabbitMQ user name (from its Secret)
    tags: dict[str, list[str]] = {}  # RabbitMQ user name → tags
    for name, spec in zip(
        (u["metadata"]["name"] for u in of_kind("User")), topology("User"), strict=True
    ):
        username = secrets()[spec["importCredentialsSecret"]["name"]]["username"]
        usernames[name] = username
        tags[username] = spec.get("tags", [])
    for user in definitions()["users"]:
        assert user["name"] in tags, user["name"]
        assert ",".join(tags[user["name"]]) == user["tags"], user["name"]
    permissions = {}
    for spec in topology("Permission"):
        assert spec["vhost"] == vhost()
        permissions[usernames[spec["userReference"]["name"]]] = spec["permissions"]
    for permission in definitions()["permissions"]:
        assert permissions[permission["user"]] == {
            key: permission[key] for key in ("configure", "write", "read")
        }, permission["user"]
    # a user the topology adds (KEDA's) may only look
    for extra in set(tags) - {u["name"] for u in definitions()["users"]}:
        assert permissions[extra] == {"configure": "^$", "write": "^$", "read": "^$"}
        assert tags[extra] == ["monitoring"]


def test_k8s_topology_queues_are_the_work_queues_the_code_declares() -> None:
    limit = int(env_literal("CIVICFLOW_DELIVERY_LIMIT") or Settings().delivery_limit)
    expected: dict[str, dict[str, Any]] = {}
    for queues in work_queues().values():
        for queue in queues:
            expected[queue.name] = work_queue_arguments(queue.dead_letter_queue, limit + 1)
            expected[queue.dead_letter_queue] = {"x-queue-type": "quorum"}
    declared = {}
    for spec in topology("Queue"):
        assert spec["vhost"] == vhost()
        assert spec["durable"] is True and spec["autoDelete"] is False
        declared[spec["name"]] = {**spec.get("arguments", {}), "x-queue-type": spec["type"]}
    assert declared == expected
