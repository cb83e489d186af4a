-- An administrator's search by name: each account's name folded to Latin lower case (given
-- name first, and family name first), filled in by the application after this migration
-- (`identity::fill_name_keys`); a prefix search is a range scan of one index.
ALTER TABLE users ADD COLUMN name_key TEXT;
ALTER TABLE users ADD COLUMN family_key TEXT;
CREATE INDEX users_name_key ON users(name_key);
CREATE INDEX users_family_key ON users(family_key);
