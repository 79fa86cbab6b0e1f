package sample

import (
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// metrics are the sampler's Prometheus collectors. The gauges read the
// sampler's state when scraped; the counters and the lag histogram move
// once a decision round's results are durable in the next stage.
type metrics struct {
	decided  *prometheus.CounterVec // class, rule
	late     prometheus.Counter
	early    prometheus.Counter
	overload prometheus.Counter
	lag      prometheus.Histogram
}

// noRule is the rule label of a trace no policy rule matched (dropped).
const noRule = "none"

func newMetrics(reg prometheus.Registerer, s *Sampler) *metrics {
	m := &metrics{
		decided: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "loupe_sampling_decided_traces_total",
			Help: "Traces decided by the tail sampler, by class (full, metadata, dropped) and by the policy rule that decided (none: no rule matched).",
		}, []string{"class", "rule"}),
		late: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "loupe_sampling_late_spans_total",
			Help: "Spans that arrived after their trace was decided, written the way the decision says.",
		}),
		early: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "loupe_sampling_decided_early_total",
			Help: "Traces decided before their grace period ended because the sampler held more than three quarters of its span or byte limit.",
		}),
		overload: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "loupe_sampling_overloaded_total",
			Help: "Batches refused (ErrOverloaded) because the sampler held its span or byte limit for the maximum wait.",
		}),
		lag: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    "loupe_sampling_decision_lag_seconds",
			Help:    "Time from a trace's first span arriving to its decision being durable in the store (grace period included).",
			Buckets: prometheus.ExponentialBuckets(0.05, 2, 14), // 50ms .. ~7 min
		}),
	}
	if reg == nil {
		return m
	}
	traces := prometheus.NewGaugeFunc(prometheus.GaugeOpts{
		Name: "loupe_sampling_pending_traces",
		Help: "Traces awaiting a sampling decision.",
	}, func() float64 { return float64(s.Stats().Traces) })
	spans := prometheus.NewGaugeFunc(prometheus.GaugeOpts{
		Name: "loupe_sampling_pending_spans",
		Help: "Spans plus events the sampler holds in memory: awaiting a decision, late, or being written.",
	}, func() float64 { return float64(s.Stats().Pending) })
	limit := prometheus.NewGaugeFunc(prometheus.GaugeOpts{
		Name: "loupe_sampling_pending_spans_limit",
		Help: "The sampler's span limit (past three quarters of it traces are decided early; at it, batches wait then are refused).",
	}, func() float64 { return float64(s.maxSpans) })
	bytes := prometheus.NewGaugeFunc(prometheus.GaugeOpts{
		Name: "loupe_sampling_pending_bytes",
		Help: "Estimated retained size in bytes of the spans and events the sampler holds in memory (strings, attributes, payloads).",
	}, func() float64 { return float64(s.Stats().Bytes) })
	bytesLimit := prometheus.NewGaugeFunc(prometheus.GaugeOpts{
		Name: "loupe_sampling_pending_bytes_limit",
		Help: "The sampler's byte limit (early decisions past three quarters of it, refusals at it).",
	}, func() float64 { return float64(s.maxBytes) })
	logBytes := prometheus.NewGaugeFunc(prometheus.GaugeOpts{
		Name: "loupe_sampling_pending_log_bytes",
		Help: "Bytes of the sampler's pending log files on disk (deleted once every trace in a file is decided).",
	}, func() float64 { return float64(s.plog.size()) })
	for _, c := range []prometheus.Collector{traces, spans, limit, bytes, bytesLimit, logBytes,
		m.decided, m.late, m.early, m.overload, m.lag} {
		// Two samplers on one registry would mix their metrics: a wiring
		// mistake, so it panics like MustRegister.
		reg.MustRegister(c)
	}
	return m
}

// roundMetrics accumulates what one write of a decision round adds to the
// metrics; they are added once the write is durable.
type roundMetrics struct {
	decided map[[2]string]int // class, rule
	firsts  []time.Time       // first arrival of each decided trace
}

func (r *roundMetrics) decide(class, rule string, first time.Time) {
	if r.decided == nil {
		r.decided = make(map[[2]string]int)
	}
	if rule == "" {
		rule = noRule
	}
	r.decided[[2]string{class, rule}]++
	r.firsts = append(r.firsts, first)
}

// commit adds r to m, with lags measured to now, and resets r.
func (m *metrics) commit(r *roundMetrics, late int64, now time.Time) {
	for k, n := range r.decided {
		m.decided.WithLabelValues(k[0], k[1]).Add(float64(n))
	}
	for _, f := range r.firsts {
		m.lag.Observe(max(now.Sub(f), 0).Seconds())
	}
	if late > 0 {
		m.late.Add(float64(late))
	}
	clear(r.decided)
	r.firsts = r.firsts[:0]
}
