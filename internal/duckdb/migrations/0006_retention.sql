-- Retention holds (retention.go): a held trace keeps its payloads and
-- metadata, whatever the retention policy, until every hold on it is
-- released. One row per (trace, reason); datasets hold the traces their
-- examples link to.
CREATE TABLE retention_holds (
    project    VARCHAR NOT NULL,
    trace_hi   BIGINT  NOT NULL,
    trace_lo   BIGINT  NOT NULL,
    reason     VARCHAR NOT NULL,
    created_ns BIGINT  NOT NULL -- unix nanoseconds
);
