-- Resource attributes ("resource.*" keys of loupe.Span.Attributes) in their
-- own column: every span of a service instance repeats the same resource,
-- so apart from the per-span attributes the column compresses to almost
-- nothing (DuckDB dictionary compression), where inside the attributes JSON
-- it cost ~90 bytes per span.
ALTER TABLE spans ADD COLUMN resource VARCHAR; -- JSON object like attributes; NULL when none
