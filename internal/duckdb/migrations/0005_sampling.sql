-- Tail sampling (internal/sample) and exact counters (issue #7).
--
-- Every stored span carries its trace's sampling verdict: the class
-- ('' = sampling off, 'full', 'metadata'), the weight (how many traces of
-- its kind the kept trace stands for, 1 with sampling off) and the rule that
-- decided. trace_parts repeats class and weight so that trace-level
-- statistics weigh traces without touching the spans. Rows written before
-- this migration read as sampling off.
ALTER TABLE spans ADD COLUMN sample_class VARCHAR DEFAULT '';
ALTER TABLE spans ADD COLUMN sample_weight DOUBLE DEFAULT 1;
ALTER TABLE spans ADD COLUMN sample_rule VARCHAR DEFAULT '';
ALTER TABLE trace_parts ADD COLUMN sample_class VARCHAR DEFAULT '';
ALTER TABLE trace_parts ADD COLUMN sample_weight DOUBLE DEFAULT 1;

-- The sampler's verdicts, one row per decided trace (dropped ones too),
-- written in the same transaction as the trace's kept spans, so that a
-- sampler restarting after a crash knows which traces it already decided.
CREATE TABLE sample_decisions (
    project    VARCHAR NOT NULL,
    trace_hi   BIGINT  NOT NULL,
    trace_lo   BIGINT  NOT NULL,
    class      VARCHAR NOT NULL, -- full, metadata or dropped
    rule       VARCHAR NOT NULL,
    weight     DOUBLE  NOT NULL, -- 1/rate of the rule; 1 when unknown
    decided_ns BIGINT  NOT NULL  -- unix nanoseconds
);

-- Exact pre-sampling counters: increments appended with each write, summed
-- at query time. minute_ns is the start of the minute (UTC) of the traces'
-- start; the dimensions are '' when unknown.
CREATE TABLE counters (
    project            VARCHAR NOT NULL,
    minute_ns          BIGINT  NOT NULL,
    prompt_version_id  VARCHAR NOT NULL,
    model              VARCHAR NOT NULL,
    tenant             VARCHAR NOT NULL,
    route              VARCHAR NOT NULL,
    environment        VARCHAR NOT NULL,
    requests           BIGINT  NOT NULL,
    errors             BIGINT  NOT NULL,
    input_tokens       BIGINT  NOT NULL,
    cache_read_tokens  BIGINT  NOT NULL,
    cache_write_tokens BIGINT  NOT NULL,
    output_tokens      BIGINT  NOT NULL,
    reasoning_tokens   BIGINT  NOT NULL,
    cost_usd           DOUBLE  NOT NULL
);
