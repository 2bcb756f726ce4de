"""The catalogue: tracks (``courses/<id>/track.yml``) and bootcamps (``bootcamps/<id>/bootcamp.yml``).

A *programme* (a track or a bootcamp) lists its modules in order; a module is a folder of nbgrader
source notebooks and the small data files they read, and becomes one nbgrader assignment. Loading
turns YAML into frozen dataclasses; every problem becomes a :class:`CatalogueError` that names the
file and says how to fix it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

TRACK_FILE = "track.yml"
BOOTCAMP_FILE = "bootcamp.yml"
DEFAULT_PASS_MARK = 0.7
MODULE_ID_PATTERN = r"^[a-z0-9][a-z0-9-]*[a-z0-9]$"


class CatalogueError(Exception):
    """A catalogue file that cannot be used; the message names the file and the fix."""


# -- YAML schema (pydantic, unknown keys forbidden) ----------------------------------------------


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class ModuleSpec(_Strict):
    id: str = Field(pattern=MODULE_ID_PATTERN, description="nbgrader assignment name, unique")
    title: str = Field(min_length=1, description="French title shown to trainees")
    duration_minutes: int = Field(gt=0, le=600, description="estimated work time")
    pass_mark: float | None = Field(
        default=None, gt=0, le=1, description="fraction of points to pass; programme default"
    )
    required: bool = Field(default=True, description="counts for the completion rule")
    kind: Literal["module", "day", "capstone"] = "module"
    data: tuple[str, ...] = Field(default=(), description="data files shipped in the folder")
    rubric: str | None = Field(default=None, description="manual grading rubric (instructors)")


class CompletionSpec(_Strict):
    passed: Literal["all", "required"] | tuple[str, ...] = "required"
    submitted: Literal["all", "required"] | tuple[str, ...] = ()

    @field_validator("submitted", mode="before")
    @classmethod
    def _none_is_empty(cls, value: object) -> object:
        return () if value is None else value


class ProgrammeSpec(_Strict):
    id: str = Field(pattern=MODULE_ID_PATTERN)
    title: str = Field(min_length=1)
    summary: str = Field(min_length=1)
    audience: str = Field(min_length=1)
    pass_mark: float = Field(default=DEFAULT_PASS_MARK, gt=0, le=1)
    days: int | None = Field(default=None, gt=0, description="bootcamps: length in days")
    modules: tuple[ModuleSpec, ...] = Field(min_length=1)
    completion: CompletionSpec = CompletionSpec()


# -- Loaded catalogue ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Module:
    """One module: one nbgrader assignment, taken from one folder of source notebooks."""

    id: str
    title: str
    duration_minutes: int
    pass_mark: float
    required: bool
    kind: str
    data: tuple[str, ...]
    folder: Path
    programme_id: str
    rubric: str | None = None

    @property
    def notebooks(self) -> list[Path]:
        """The source notebooks, in name order (the order trainees work through them)."""
        return sorted(self.folder.glob("*.ipynb"))


@dataclass(frozen=True)
class CompletionRule:
    """Which modules must be passed, and which only submitted, to complete a programme."""

    passed: tuple[str, ...]
    submitted: tuple[str, ...] = ()


@dataclass(frozen=True)
class Programme:
    """A track or a bootcamp: an ordered list of modules and a completion rule."""

    id: str
    kind: Literal["track", "bootcamp"]
    title: str
    summary: str
    audience: str
    modules: tuple[Module, ...]
    completion: CompletionRule
    folder: Path
    days: int | None = None

    def module(self, module_id: str) -> Module:
        for module in self.modules:
            if module.id == module_id:
                return module
        raise KeyError(module_id)

    @property
    def duration_minutes(self) -> int:
        return sum(module.duration_minutes for module in self.modules)


@dataclass(frozen=True)
class Catalogue:
    root: Path
    programmes: tuple[Programme, ...] = field(default_factory=tuple)

    @property
    def tracks(self) -> tuple[Programme, ...]:
        return tuple(p for p in self.programmes if p.kind == "track")

    @property
    def bootcamps(self) -> tuple[Programme, ...]:
        return tuple(p for p in self.programmes if p.kind == "bootcamp")

    def modules(self) -> list[Module]:
        return [module for programme in self.programmes for module in programme.modules]

    def programme(self, programme_id: str) -> Programme:
        for programme in self.programmes:
            if programme.id == programme_id:
                return programme
        known = ", ".join(p.id for p in self.programmes)
        raise CatalogueError(f"no track or bootcamp '{programme_id}' in the catalogue ({known})")

    def find_module(self, module_id: str) -> tuple[Programme, Module]:
        for programme in self.programmes:
            for module in programme.modules:
                if module.id == module_id:
                    return programme, module
        known = ", ".join(m.id for m in self.modules())
        raise CatalogueError(f"no module '{module_id}' in the catalogue; known modules: {known}")


# -- Loading ---------------------------------------------------------------------------------------


def programme_files(root: Path) -> list[tuple[Path, Literal["track", "bootcamp"]]]:
    """Every track.yml and bootcamp.yml under ``root``, tracks first, in name order."""
    tracks = [(p, "track") for p in sorted((root / "courses").glob(f"*/{TRACK_FILE}"))]
    camps = [(p, "bootcamp") for p in sorted((root / "bootcamps").glob(f"*/{BOOTCAMP_FILE}"))]
    return [*tracks, *camps]  # type: ignore[list-item]


def load_catalogue(root: Path) -> Catalogue:
    """Load every programme under ``root``; raise :class:`CatalogueError` on the first bad file."""
    root = root.resolve()
    files = programme_files(root)
    if not files:
        raise CatalogueError(
            f"{root}: no courses/*/{TRACK_FILE} nor bootcamps/*/{BOOTCAMP_FILE} found; run tadrib "
            "from the repository root or pass --root to the folder that holds courses/."
        )
    programmes = tuple(load_programme(path, kind) for path, kind in files)
    return Catalogue(root=root, programmes=programmes)


def load_programme(path: Path, kind: Literal["track", "bootcamp"]) -> Programme:
    spec = _parse(path)
    if spec.id != path.parent.name:
        raise CatalogueError(
            f"{path}: id '{spec.id}' differs from its folder '{path.parent.name}'; "
            "rename one so they match."
        )
    modules = tuple(_module(spec, m, path.parent) for m in spec.modules)
    return Programme(
        id=spec.id,
        kind=kind,
        title=spec.title,
        summary=spec.summary,
        audience=spec.audience,
        modules=modules,
        completion=_completion(spec, path),
        folder=path.parent,
        days=spec.days,
    )


def _parse(path: Path) -> ProgrammeSpec:
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as error:
        mark = getattr(error, "problem_mark", None)
        where = f" line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        problem = getattr(error, "problem", None) or str(error)
        raise CatalogueError(f"{path}:{where}: malformed YAML ({problem}); fix the syntax.") from None
    if not isinstance(raw, dict):
        raise CatalogueError(f"{path}: expected a mapping of keys (id, title, modules, …).")
    try:
        return ProgrammeSpec.model_validate(raw)
    except ValidationError as error:
        raise CatalogueError(_explain(path, error, raw)) from None


def _explain(path: Path, error: ValidationError, raw: dict[str, object]) -> str:
    lines = []
    for item in error.errors():
        where = _location(item["loc"], raw)
        if item["type"] == "extra_forbidden":
            allowed = _allowed_keys(item["loc"])
            lines.append(f"{where}: unknown key; allowed keys are {allowed}. Remove or rename it.")
        elif item["type"] == "missing":
            lines.append(f"{where}: required key is missing; add it.")
        else:
            lines.append(f"{where}: {item['msg']}.")
    return f"{path}: " + "; ".join(lines)


def _location(loc: tuple[int | str, ...], raw: dict[str, object]) -> str:
    parts: list[str] = []
    node: object = raw
    for key in loc:
        if isinstance(key, int):
            label = ""
            if isinstance(node, list) and key < len(node) and isinstance(node[key], dict):
                label = f" (id {node[key].get('id', '?')})"
            parts[-1] = f"{parts[-1]}[{key}]{label}" if parts else f"[{key}]"
            node = node[key] if isinstance(node, list) and key < len(node) else None
        else:
            parts.append(str(key))
            node = node.get(key) if isinstance(node, dict) else None
    return ".".join(parts) or "top level"


def _allowed_keys(loc: tuple[int | str, ...]) -> str:
    model: type[BaseModel] = ProgrammeSpec
    if "modules" in loc[:-1]:
        model = ModuleSpec
    elif "completion" in loc[:-1]:
        model = CompletionSpec
    return ", ".join(model.model_fields)


def _module(spec: ProgrammeSpec, module: ModuleSpec, folder: Path) -> Module:
    return Module(
        id=module.id,
        title=module.title,
        duration_minutes=module.duration_minutes,
        pass_mark=module.pass_mark if module.pass_mark is not None else spec.pass_mark,
        required=module.required,
        kind=module.kind,
        data=module.data,
        folder=folder / module.id,
        programme_id=spec.id,
        rubric=module.rubric,
    )


def _completion(spec: ProgrammeSpec, path: Path) -> CompletionRule:
    ids = [m.id for m in spec.modules]
    required = tuple(m.id for m in spec.modules if m.required)

    def expand(value: str | tuple[str, ...], key: str) -> tuple[str, ...]:
        if value == "all":
            return tuple(ids)
        if value == "required":
            return required
        unknown = [m for m in value if m not in ids]
        if unknown:
            raise CatalogueError(
                f"{path}: completion.{key} names {', '.join(unknown)}, not among the modules "
                f"({', '.join(ids)}); list module ids from modules."
            )
        return tuple(value)

    return CompletionRule(
        passed=expand(spec.completion.passed, "passed"),
        submitted=expand(spec.completion.submitted, "submitted"),
    )
