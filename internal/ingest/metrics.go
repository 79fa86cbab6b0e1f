package ingest

import (
	"github.com/prometheus/client_golang/prometheus"
)

// metrics are the pipeline's Prometheus collectors.
type metrics struct {
	flushSeconds  prometheus.Histogram
	flushSpans    prometheus.Histogram
	writtenSpans  prometheus.Counter
	writtenEvents prometheus.Counter
	writeErrors   prometheus.Counter
	overloaded    prometheus.Counter
}

func newMetrics(reg prometheus.Registerer, p *Pipeline) *metrics {
	m := &metrics{
		flushSeconds: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    "loupe_ingest_flush_seconds",
			Help:    "Duration of one SpanWriter.Write call (one group commit).",
			Buckets: prometheus.ExponentialBuckets(0.001, 2, 14), // 1ms .. 8s
		}),
		flushSpans: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    "loupe_ingest_flush_spans",
			Help:    "Spans plus events written by one successful SpanWriter.Write call.",
			Buckets: prometheus.ExponentialBuckets(1, 4, 9), // 1 .. 65536
		}),
		writtenSpans: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "loupe_ingest_written_spans_total",
			Help: "Spans durably written.",
		}),
		writtenEvents: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "loupe_ingest_written_events_total",
			Help: "Span events (log records) durably written.",
		}),
		writeErrors: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "loupe_ingest_write_errors_total",
			Help: "Failed SpanWriter.Write calls, retries included.",
		}),
		overloaded: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "loupe_ingest_overloaded_total",
			Help: "Batches refused because the queue stayed full for the maximum wait.",
		}),
	}
	if reg == nil {
		return m
	}
	queue := prometheus.NewGaugeFunc(prometheus.GaugeOpts{
		Name: "loupe_ingest_queue_spans",
		Help: "Spans plus events queued or being written.",
	}, func() float64 { return float64(p.QueueLen()) })
	capacity := prometheus.NewGaugeFunc(prometheus.GaugeOpts{
		Name: "loupe_ingest_queue_capacity_spans",
		Help: "Capacity of the ingest queue in spans plus events.",
	}, func() float64 { return float64(p.capacity) })
	for _, c := range []prometheus.Collector{queue, capacity, m.flushSeconds, m.flushSpans,
		m.writtenSpans, m.writtenEvents, m.writeErrors, m.overloaded} {
		// Registering two pipelines on one registry is a wiring mistake
		// (their metrics would mix), so it panics like MustRegister.
		reg.MustRegister(c)
	}
	return m
}
