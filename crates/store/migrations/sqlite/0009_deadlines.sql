-- The deadline of the state an application is in: a day (YYYY-MM-DD) counted in working days
-- of the office's region from the day it entered the state, and when it was escalated for
-- missing that deadline (once per state: a transition clears both).
ALTER TABLE applications ADD COLUMN due_on TEXT;
ALTER TABLE applications ADD COLUMN escalated_at BIGINT;
-- When the applicant was told that an untouched draft will be deleted (saving clears it).
ALTER TABLE applications ADD COLUMN reminded_at BIGINT;
CREATE INDEX applications_due ON applications (due_on);
CREATE INDEX applications_drafts ON applications (state, updated_at);
-- An officer's queue reads one state (at one office) at a time, in order of submission: the
-- indexes hold that whole order, so a read stops after the rows it shows.
DROP INDEX applications_queue;
CREATE INDEX applications_queue ON applications (department, state, submitted_at, id);
CREATE INDEX applications_queue_office ON applications (department, state, office, submitted_at, id);
-- The officer working on an application in its state (claimed from the queue); a transition
-- releases it.
ALTER TABLE applications ADD COLUMN claimed_by TEXT;
