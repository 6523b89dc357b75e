"""The award rubric (config/award_rubric.toml), validated at start.

A wrong key, a missing weight or a component applied to an unknown unit type stops the run
before anything is read, with a message naming the key.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from tongket.errors import ConfigError
from tongket.settings import DEFAULT_RUBRIC_PATH, format_validation_error, read_toml

CollectiveComponent = Literal["reporting", "reach", "breadth", "mediation", "legal_access", "good_models"]
IndividualComponent = Literal["sessions", "materials", "mediation", "years", "unit_score"]
COLLECTIVE_COMPONENTS: tuple[str, ...] = CollectiveComponent.__args__
INDIVIDUAL_COMPONENTS: tuple[str, ...] = IndividualComponent.__args__
UnitType = Literal["commune", "agency"]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class CollectiveComponents(_Strict):
    reporting_on_time_points: float = Field(ge=0, le=100)
    reporting_completeness_points: float = Field(ge=0, le=100)
    mediation_prior_cases: float = Field(ge=0)
    legal_access_years: list[int] = Field(min_length=1)
    legal_access_years_points: float = Field(ge=0, le=100)
    legal_access_score_points: float = Field(ge=0, le=100)
    good_models_cap: int = Field(ge=1)
    good_models_points_each: float = Field(ge=0, le=100)
    good_models_replicated_bonus: float = Field(ge=0, le=100)

    @model_validator(mode="after")
    def _points_add_to_100(self) -> CollectiveComponents:
        pairs = {
            "reporting_on_time_points + reporting_completeness_points": self.reporting_on_time_points
            + self.reporting_completeness_points,
            "legal_access_years_points + legal_access_score_points": self.legal_access_years_points
            + self.legal_access_score_points,
        }
        for keys, total in pairs.items():
            if abs(total - 100) > 1e-9:
                raise ValueError(f"{keys} must add up to 100 (got {total:g})")
        return self


TieBreakCollective = Literal["reporting", "reach", "breadth", "mediation", "legal_access", "good_models", "unit_code"]
TieBreakIndividual = Literal["female_first", "years", "sessions", "unit_score", "full_name"]


class CollectiveRubric(_Strict):
    propose: int = Field(ge=0)
    distinct_unit_types: bool
    pass_mark: float = Field(ge=0, le=100)
    excluded_units: list[str]
    tie_breaks: list[TieBreakCollective]
    weights: dict[CollectiveComponent, float]
    applies_to: dict[CollectiveComponent, list[UnitType]]
    components: CollectiveComponents

    @model_validator(mode="after")
    def _every_component_weighted(self) -> CollectiveRubric:
        for name, mapping in (("weights", self.weights), ("applies_to", self.applies_to)):
            missing = [c for c in COLLECTIVE_COMPONENTS if c not in mapping]
            if missing:
                raise ValueError(f"{name} lacks {', '.join(missing)}")
        if any(w < 0 for w in self.weights.values()):
            raise ValueError("weights must not be negative")
        for unit_type in ("commune", "agency"):
            if sum(w for c, w in self.weights.items() if unit_type in self.applies_to[c]) <= 0:
                raise ValueError(f"no weighted component applies to {unit_type}")
        return self


class IndividualRubric(_Strict):
    propose: int = Field(ge=0)
    pass_mark: float = Field(ge=0, le=100)
    one_per_unit: bool
    excluded_names: list[str]
    tie_breaks: list[TieBreakIndividual]
    years_cap: int = Field(ge=1)
    weights: dict[IndividualComponent, float]

    @model_validator(mode="after")
    def _every_component_weighted(self) -> IndividualRubric:
        missing = [c for c in INDIVIDUAL_COMPONENTS if c not in self.weights]
        if missing:
            raise ValueError(f"weights lacks {', '.join(missing)}")
        if any(w < 0 for w in self.weights.values()) or sum(self.weights.values()) <= 0:
            raise ValueError("weights must be non-negative with a positive sum")
        return self


class StabilityRubric(_Strict):
    draws: int = Field(ge=1, le=100_000)
    spread: float = Field(ge=0, lt=1)
    seed: int


class Rubric(_Strict):
    collective: CollectiveRubric
    individual: IndividualRubric
    stability: StabilityRubric


def load_rubric(path: Path | None = None) -> Rubric:
    """Read and validate the rubric; ConfigError names every wrong key."""
    path = Path(path or DEFAULT_RUBRIC_PATH)
    raw = read_toml(path)
    try:
        return Rubric(**raw)
    except ValidationError as exc:
        raise ConfigError(format_validation_error(str(path), exc)) from exc
