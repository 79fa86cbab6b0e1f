package duckdb

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// startRetention starts the background enforcement: a first run a minute
// after Open (not during start-up, when ingest catches up), then one every
// `every`. The Store owns the goroutine; Close stops it and waits.
func (s *Store) startRetention(every time.Duration) {
	ctx, cancel := context.WithCancel(context.Background())
	s.retStop = cancel
	first := min(every, time.Minute)
	s.retWG.Go(func() {
		t := time.NewTimer(first)
		defer t.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-t.C:
			}
			s.enforceAndLog(ctx)
			t.Reset(every)
		}
	})
}

// stopRetention stops the background enforcement, if any, and waits for it.
func (s *Store) stopRetention() {
	if s.retStop != nil {
		s.retStop()
	}
	s.retWG.Wait()
}

// enforceAndLog runs one enforcement as of s.now() and logs its outcome;
// the error is handled here (the next run retries).
func (s *Store) enforceAndLog(ctx context.Context) {
	rep, err := s.EnforceRetention(ctx, s.now())
	if err != nil {
		if errors.Is(err, context.Canceled) {
			return // stopping
		}
		s.logger.Error("retention run failed, retrying at the next run", "err", err)
		return
	}
	s.logger.Info("retention enforced",
		"payloads_stripped", rep.PayloadsStripped, "payloads_moved", rep.PayloadsMoved,
		"segments_removed", rep.SegmentsRemoved, "segment_bytes_removed", rep.SegmentBytesRemoved,
		"traces_deleted", rep.TracesDeleted, "spans_deleted", rep.SpansDeleted,
		"fts_blocks_deleted", rep.FullTextBlocksDeleted,
		"decisions_deleted", rep.DecisionsDeleted, "counter_rows_deleted", rep.CounterRowsDeleted,
		"db_bytes_before", rep.DatabaseBytesBefore, "db_bytes_after", rep.DatabaseBytesAfter,
		"duration", rep.Duration)
}

// retentionMetrics are the retention Prometheus collectors.
type retentionMetrics struct {
	stripped  prometheus.Counter
	freed     prometheus.Counter
	spans     prometheus.Counter
	traces    prometheus.Counter
	runs      *prometheus.CounterVec
	lastRun   prometheus.Gauge
	lastSecs  prometheus.Gauge
	dbBytes   prometheus.Gauge
	collected []prometheus.Collector
}

func newRetentionMetrics() *retentionMetrics {
	m := &retentionMetrics{
		stripped: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "loupe_retention_payloads_stripped_total",
			Help: "Span payloads dropped by retention.",
		}),
		freed: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "loupe_retention_segment_bytes_removed_total",
			Help: "Bytes of payload segment files deleted by retention (before the kept payloads were copied).",
		}),
		spans: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "loupe_retention_spans_deleted_total",
			Help: "Span rows deleted by retention (metadata horizon).",
		}),
		traces: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "loupe_retention_traces_deleted_total",
			Help: "Traces deleted by retention (metadata horizon).",
		}),
		runs: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "loupe_retention_runs_total",
			Help: "Retention runs by result (ok, error).",
		}, []string{"result"}),
		lastRun: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "loupe_retention_last_run_timestamp_seconds",
			Help: "Clock time (the run's now) of the last successful retention run.",
		}),
		lastSecs: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "loupe_retention_last_run_duration_seconds",
			Help: "Wall time of the last retention run.",
		}),
		dbBytes: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "loupe_retention_database_bytes",
			Help: "Size of the database file after the last retention run.",
		}),
	}
	m.collected = []prometheus.Collector{m.stripped, m.freed, m.spans, m.traces, m.runs, m.lastRun, m.lastSecs, m.dbBytes}
	return m
}

// register registers the collectors on reg (nil: none).
func (m *retentionMetrics) register(reg prometheus.Registerer) error {
	if reg == nil {
		return nil
	}
	for _, c := range m.collected {
		if err := reg.Register(c); err != nil {
			return fmt.Errorf("register retention metrics: %w", err)
		}
	}
	return nil
}

func (m *retentionMetrics) observe(rep *RetentionReport, err error, now time.Time) {
	m.stripped.Add(float64(rep.PayloadsStripped))
	m.freed.Add(float64(rep.SegmentBytesRemoved))
	m.spans.Add(float64(rep.SpansDeleted))
	m.traces.Add(float64(rep.TracesDeleted))
	m.lastSecs.Set(rep.Duration.Seconds())
	m.dbBytes.Set(float64(rep.DatabaseBytesAfter))
	if err != nil {
		m.runs.WithLabelValues("error").Inc()
		return
	}
	m.runs.WithLabelValues("ok").Inc()
	m.lastRun.Set(float64(now.Unix()))
}
