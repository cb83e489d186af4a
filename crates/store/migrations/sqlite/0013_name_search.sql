-- An administrator's search by name: each account's name folded to Latin lower case (given
-- name first, and family name first), filled in by the application after this migration
-- (`identity::fill_name_keys`) before the next migration indexes them.
ALTER TABLE users ADD COLUMN name_key TEXT;
ALTER TABLE users ADD COLUMN family_key TEXT;
