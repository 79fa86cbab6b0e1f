-- Spans, one row each, append-only. Ids are stored as big-endian integers
-- (the trace id as two halves) rather than hex text: 16+8+8 bytes per row
-- instead of 64, and integer comparisons on the trace-by-id scan. They are
-- signed BIGINTs holding the id's 64 bits (database/sql cannot bind a
-- uint64 with the high bit set); lpad(to_hex(trace_hi), 16, '0') gives hex.
-- Strings are '' when unknown (never NULL); the JSON columns are NULL when
-- empty.
CREATE TABLE spans (
    project            VARCHAR NOT NULL,
    trace_hi           BIGINT  NOT NULL, -- trace id bytes 0..7
    trace_lo           BIGINT  NOT NULL, -- trace id bytes 8..15
    span_id            BIGINT  NOT NULL,
    parent_span_id     BIGINT  NOT NULL, -- 0 for a root span
    name               VARCHAR NOT NULL,
    kind               VARCHAR NOT NULL,
    otel_kind          VARCHAR NOT NULL,
    start_ns           BIGINT  NOT NULL, -- unix nanoseconds
    end_ns             BIGINT  NOT NULL,
    duration_ns        BIGINT  NOT NULL,
    status             VARCHAR NOT NULL,
    status_message     VARCHAR NOT NULL,
    error_type         VARCHAR NOT NULL,
    service            VARCHAR NOT NULL,
    environment        VARCHAR NOT NULL,
    deployment_id      VARCHAR NOT NULL,
    tenant             VARCHAR NOT NULL,
    route              VARCHAR NOT NULL,
    session_id         VARCHAR NOT NULL,
    user_id            VARCHAR NOT NULL,
    prompt_name        VARCHAR NOT NULL,
    prompt_version_id  VARCHAR NOT NULL,
    release_label      VARCHAR NOT NULL,
    provider           VARCHAR NOT NULL,
    request_model      VARCHAR NOT NULL,
    response_model     VARCHAR NOT NULL,
    input_tokens       BIGINT  NOT NULL,
    cache_read_tokens  BIGINT  NOT NULL,
    cache_write_tokens BIGINT  NOT NULL,
    output_tokens      BIGINT  NOT NULL,
    reasoning_tokens   BIGINT  NOT NULL,
    total_tokens       BIGINT  NOT NULL,
    cost_usd           DOUBLE  NOT NULL,
    cost_source        VARCHAR NOT NULL,
    finish_reason      VARCHAR NOT NULL,
    tool_name          VARCHAR NOT NULL,
    retrieval_index    VARCHAR NOT NULL,
    retrieval_count    BIGINT  NOT NULL,
    params             VARCHAR,          -- JSON object of loupe.Params
    documents          VARCHAR,          -- JSON array of loupe.Document (ids, scores)
    attributes         VARCHAR,          -- JSON object, typed numbers (see json.go)
    -- Where the span's payload (JSON of loupe.Payload) is in the segment
    -- log (internal/segment, Dir/payloads): all three NULL when the span
    -- has none.
    payload_seg        INTEGER,
    payload_off        BIGINT,
    payload_idx        INTEGER
);

-- Events that arrived apart from their span (OTLP log records), joined to
-- it on read.
CREATE TABLE span_events (
    project  VARCHAR NOT NULL,
    trace_hi BIGINT  NOT NULL,
    trace_lo BIGINT  NOT NULL,
    span_id  BIGINT  NOT NULL,
    time_ns  BIGINT  NOT NULL, -- unix nanoseconds, 0 when unknown
    body     VARCHAR NOT NULL  -- JSON of loupe.Event
);
