package server

import (
	"fmt"
	"log/slog"
	"net/http"

	"github.com/loupehq/loupe"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// addRoutes lists the whole HTTP surface.
func addRoutes(mux *http.ServeMux, log *slog.Logger, opts Options, ex *exporter, reader loupe.TraceReader) {
	bufs := newBufferPool()
	// OTLP/HTTP (https://opentelemetry.io/docs/specs/otlp/#otlphttp).
	mux.Handle("POST /v1/traces", handleTraces(log, opts, ex, bufs))
	mux.Handle("POST /v1/logs", handleLogs(log, opts, ex, bufs))
	// JSON API.
	mux.Handle("GET /api/v1/traces/{id}", handleTrace(log, reader))
	mux.Handle("GET /api/v1/traces", handleSearch(log, reader))
	mux.Handle("GET /api/v1/stats", handleStats(log, reader))
	mux.Handle("GET /api/v1/counters", handleCounters(log, reader))
	addSamplingRoutes(mux, log, opts.Sampling) // api_sampling.go
	mux.Handle("GET /api/v1/redaction/rules", handleRedactionRules(log, opts.RedactionRules))
	mux.Handle("PUT /api/v1/redaction/rules", handleRedactionRules(log, opts.RedactionRules))
	mux.Handle("PUT /api/v1/traces/{id}/hold", handleHold(log, reader, true))
	mux.Handle("DELETE /api/v1/traces/{id}/hold", handleHold(log, reader, false))
	mux.Handle("/api/", handleAPINotFound(log))
	// Operations.
	mux.Handle("GET /healthz", handleHealthz())
	mux.Handle("GET /metrics", handleMetrics(log, opts))
	// Web UI (ui.go).
	addUIRoutes(mux, log, reader)
}

// handleAPINotFound answers any other path under /api/ with a JSON 404.
func handleAPINotFound(log *slog.Logger) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		writeError(w, log, formatAPI, fmt.Errorf("no API endpoint %s %s: %w", r.Method, r.URL.Path, loupe.ErrNotFound))
	})
}

func handleHealthz() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		w.Write([]byte("ok\n"))
	})
}

func handleMetrics(log *slog.Logger, opts Options) http.Handler {
	if opts.Gatherer == nil {
		return http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
			http.Error(w, "metrics are not enabled", http.StatusNotFound)
		})
	}
	return promhttp.HandlerFor(opts.Gatherer, promhttp.HandlerOpts{
		ErrorLog: slog.NewLogLogger(log.Handler(), slog.LevelError),
	})
}
