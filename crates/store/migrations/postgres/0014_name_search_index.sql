-- The name search keys, filled in after migration 13: a prefix search is a range scan of one
-- index. Made after the keys are filled, which is much faster than updating the index a
-- million times.
CREATE INDEX users_name_key ON users(name_key);
CREATE INDEX users_family_key ON users(family_key);
