-- one row: the scoring constants of the award rubric (config/award_rubric.toml)
create table if not exists ref_award_config (
    reporting_on_time_points double,
    reporting_completeness_points double,
    mediation_prior_cases double,
    legal_access_years integer[],
    legal_access_years_points double,
    legal_access_score_points double,
    good_models_cap integer,
    good_models_points_each double,
    good_models_replicated_bonus double,
    years_cap integer
);
