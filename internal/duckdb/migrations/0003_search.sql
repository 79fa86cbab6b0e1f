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
-- one block per project (at most 65,536 spans): the span ids it indexed
-- (fts_blocks.spans, 8 bytes big-endian each, in ordinal order) and a few
-- postings rows, each covering a contiguous range [tok_lo, tok_hi] of the
-- block's tokens (64-bit hashes of lowercased words, compared as BIGINT).
-- A postings blob is: format byte (1), uvarint token count c, c tokens
-- (8 bytes little-endian, ascending as int64), c end offsets (4 bytes
-- little-endian, into the lists), then per token the list of spans holding
-- it: uvarint((ordinal - previous ordinal - 1) << 3 | side mask), the mask's
-- bits being input (1), output (2) and other payload text (4). Block ids grow
-- with the write time, so postings rows are clustered by block_id.
CREATE TABLE fts_blocks (
    project   VARCHAR NOT NULL,
    block_id  BIGINT  NOT NULL,
    min_start BIGINT  NOT NULL,
    max_start BIGINT  NOT NULL,
    spans     BLOB    NOT NULL
);

CREATE TABLE fts_postings (
    block_id  BIGINT  NOT NULL,
    tok_lo    BIGINT  NOT NULL,
    tok_hi    BIGINT  NOT NULL,
    postings  BLOB    NOT NULL
);
