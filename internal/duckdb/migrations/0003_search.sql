-- Search side tables, appended by the write path in the same transaction as
-- the spans (appendSearchRows in search.go).
--
-- trace_parts holds one row per trace per Write call: the part's bounds and
-- totals, so that trace lists and trace-level statistics aggregate about a
-- twelfth of the span rows and never scan spans by trace id. A trace written
-- in several calls has several parts, combined at query time (min start,
-- max end, sums, root part's values first).
CREATE TABLE trace_parts (
    project           VARCHAR NOT NULL,
    trace_hi          BIGINT  NOT NULL,
    trace_lo          BIGINT  NOT NULL,
    start_ns          BIGINT  NOT NULL, -- earliest span start of the part
    end_ns            BIGINT  NOT NULL, -- latest span end of the part
    has_root          BOOLEAN NOT NULL, -- the part holds a parentless span
    root_failed       BOOLEAN NOT NULL, -- a parentless span of the part failed
    name              VARCHAR NOT NULL, -- root span's name, else earliest span's
    span_count        BIGINT  NOT NULL,
    error_count       BIGINT  NOT NULL, -- failed spans (loupe.Span.Failed)
    input_tokens      BIGINT  NOT NULL,
    output_tokens     BIGINT  NOT NULL,
    total_tokens      BIGINT  NOT NULL,
    cost_usd          DOUBLE  NOT NULL,
    -- First non-empty values among the part's spans, root first.
    service           VARCHAR NOT NULL,
    environment       VARCHAR NOT NULL,
    tenant            VARCHAR NOT NULL,
    session_id        VARCHAR NOT NULL,
    prompt_name       VARCHAR NOT NULL,
    prompt_version_id VARCHAR NOT NULL,
    model             VARCHAR NOT NULL, -- earliest llm span's response (else request) model
    model_start_ns    BIGINT  NOT NULL  -- that span's start; 0 when model = ''
);

-- Full-text index over payload text (fulltext.go). Each Write call makes
-- one block per project: the span ids it indexed (fts_blocks.spans, 8
-- bytes big-endian each, in ordinal order) and, per distinct (token, side),
-- one posting row listing the ordinals of the spans holding the token
-- (uvarint deltas). Tokens are 64-bit hashes of lowercased words.
CREATE TABLE fts_blocks (
    project   VARCHAR NOT NULL,
    block_id  BIGINT  NOT NULL,
    min_start BIGINT  NOT NULL,
    max_start BIGINT  NOT NULL,
    spans     BLOB    NOT NULL
);

CREATE TABLE fts_postings (
    project   VARCHAR  NOT NULL,
    block_id  BIGINT   NOT NULL,
    min_start BIGINT   NOT NULL, -- the block's, repeated for pruning without a join
    max_start BIGINT   NOT NULL,
    token     BIGINT   NOT NULL,
    side      TINYINT  NOT NULL, -- 0 input, 1 output, 2 other payload text
    postings  BLOB     NOT NULL
);
