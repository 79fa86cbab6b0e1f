package server

import (
	"errors"

	"github.com/prometheus/client_golang/prometheus"
)

// metrics are the server's Prometheus collectors, shared by the HTTP and
// gRPC receivers when they share a Registerer.
type metrics struct {
	httpRequests   *prometheus.CounterVec   // route, code
	httpDuration   *prometheus.HistogramVec // route
	receivedSpans  *prometheus.CounterVec   // transport
	rejectedSpans  *prometheus.CounterVec   // transport
	receivedLogs   *prometheus.CounterVec   // transport
	rejectedLogs   *prometheus.CounterVec   // transport
	refused        *prometheus.CounterVec   // transport, reason
	grpcDuration   *prometheus.HistogramVec // method
	grpcRequests   *prometheus.CounterVec   // method, code
	exportDuration *prometheus.HistogramVec // transport, signal
}

func newMetrics(reg prometheus.Registerer) *metrics {
	return &metrics{
		httpRequests: register(reg, prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "loupe_http_requests_total",
			Help: "HTTP requests by route pattern and status code.",
		}, []string{"route", "code"})),
		httpDuration: register(reg, prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "loupe_http_request_duration_seconds",
			Help:    "HTTP request duration by route pattern, body read and durable write included.",
			Buckets: prometheus.ExponentialBuckets(0.0005, 2, 16), // 0.5ms .. 16s
		}, []string{"route"})),
		receivedSpans: register(reg, prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "loupe_ingest_received_spans_total",
			Help: "Spans received in decoded OTLP requests.",
		}, []string{"transport"})),
		rejectedSpans: register(reg, prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "loupe_ingest_rejected_spans_total",
			Help: "Spans rejected by normalization (reported as OTLP partial success or 400).",
		}, []string{"transport"})),
		receivedLogs: register(reg, prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "loupe_ingest_received_log_records_total",
			Help: "Log records received in decoded OTLP requests.",
		}, []string{"transport"})),
		rejectedLogs: register(reg, prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "loupe_ingest_rejected_log_records_total",
			Help: "Log records rejected by normalization.",
		}, []string{"transport"})),
		refused: register(reg, prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "loupe_ingest_refused_requests_total",
			Help: "OTLP requests refused, by reason (overload, unavailable, too_large, bad_request, unsupported).",
		}, []string{"transport", "reason"})),
		grpcRequests: register(reg, prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "loupe_grpc_requests_total",
			Help: "gRPC requests by method and status code.",
		}, []string{"method", "code"})),
		grpcDuration: register(reg, prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "loupe_grpc_request_duration_seconds",
			Help:    "gRPC request duration by method.",
			Buckets: prometheus.ExponentialBuckets(0.0005, 2, 16),
		}, []string{"method"})),
		exportDuration: register(reg, prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "loupe_ingest_export_seconds",
			Help:    "Time from a decoded OTLP request to its durable acknowledgement (normalize + queue + write).",
			Buckets: prometheus.ExponentialBuckets(0.0005, 2, 16),
		}, []string{"transport", "signal"})),
	}
}

// register registers c on reg, or returns the collector already registered
// under the same descriptor, so New and NewGRPC can share a registry. A nil
// reg leaves c unregistered.
func register[C prometheus.Collector](reg prometheus.Registerer, c C) C {
	if reg == nil {
		return c
	}
	if err := reg.Register(c); err != nil {
		var are prometheus.AlreadyRegisteredError
		if errors.As(err, &are) {
			if existing, ok := are.ExistingCollector.(C); ok {
				return existing
			}
		}
		panic("server: register metrics: " + err.Error()) // conflicting definitions: a programming error
	}
	return c
}
