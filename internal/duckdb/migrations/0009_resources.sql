-- Resources stored once. Every span of a service instance repeats the same
-- resource attributes (about 190 bytes of JSON on the standard workload,
-- 40% of a span row's text), and DuckDB copied them through every append,
-- WAL write and checkpoint. A span written since this migration names its
-- resource by resource_id (1, 2, 3, ...: resources.go), and its resource
-- column stays NULL; spans written before keep their
-- JSON in resource. The resource of a span is
-- coalesce(resource, the json of (project, resource_id)).
-- Rows are never deleted: there are few, and retention keeps no count of
-- their spans.
CREATE TABLE resources (
    project VARCHAR NOT NULL,
    id      BIGINT  NOT NULL,
    json    VARCHAR NOT NULL  -- JSON object like spans.resource
);
ALTER TABLE spans ADD COLUMN resource_id BIGINT;
