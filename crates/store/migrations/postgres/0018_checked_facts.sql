-- Which of an application's answers were facts of the applicant's checked profile when it was
-- submitted (JSON: question id → fact), so that officers see what a registry already
-- confirmed. Applications submitted before have none recorded.
ALTER TABLE applications ADD COLUMN checked_facts TEXT;
