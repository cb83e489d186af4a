-- An administrator's search by name: each account's name folded to Latin lower case (given
-- name first, and family name first), filled in by the application after this migration
-- (`identity::fill_name_keys`) before the next migration indexes them. The keys are
-- ASCII compared byte by byte ("C"), so a range is a prefix whatever the database's locale.
ALTER TABLE users ADD COLUMN name_key TEXT COLLATE "C", ADD COLUMN family_key TEXT COLLATE "C";
