-- trace_parts.cont marks a part that is not the first one written for its
-- trace (within traceSlack of start time; see recent.go). Trace lists read
-- the parts of traces without a cont part as whole traces, without
-- aggregating them by trace id (window.go). Rows written before this
-- migration may belong to multi-part traces: they default to TRUE, so they
-- keep going through the aggregation.
ALTER TABLE trace_parts ADD COLUMN cont BOOLEAN DEFAULT TRUE;
