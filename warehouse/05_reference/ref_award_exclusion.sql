-- one row per unit the rubric excludes from the collective proposal
create table if not exists ref_award_exclusion (
    unit_code varchar primary key
);
