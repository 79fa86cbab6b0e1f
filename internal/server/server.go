// Package server is loupe's network edge: the OTLP/HTTP and OTLP/gRPC
// receivers, the JSON API, /healthz and /metrics. It decodes and normalizes
// OTLP requests with internal/otlp and hands the spans to an Ingester, which
// answers only once they are durable; it never imports a storage backend.
package server

import (
	"context"
	"log/slog"
	"net/http"

	"github.com/loupehq/loupe"
	"github.com/loupehq/loupe/internal/auth"
	"github.com/loupehq/loupe/internal/otlp"
	"github.com/prometheus/client_golang/prometheus"
)

// DefaultMaxBodyBytes is the OTLP body cap used when Options.MaxBodyBytes is 0.
const DefaultMaxBodyBytes = 16 << 20

// Options configures the HTTP handler and the gRPC server. The zero value
// means the defaults.
type Options struct {
	// MaxBodyBytes caps an OTLP/HTTP body, both as sent and after gzip
	// decompression, and an OTLP/gRPC message. 0 means DefaultMaxBodyBytes.
	MaxBodyBytes int64
	// DecodeOnly makes the OTLP receivers decode each request and
	// acknowledge it without normalizing or storing anything: the
	// benchmark ceiling of the ingest path.
	DecodeOnly bool
	// Logger receives errors (and the access log at debug level); nil
	// discards.
	Logger *slog.Logger
	// Registerer, if non-nil, receives the server's metrics. New and
	// NewGRPC may share one.
	Registerer prometheus.Registerer
	// Gatherer is served on GET /metrics; nil answers 404 there.
	Gatherer prometheus.Gatherer
	// Sampling, if non-nil, serves the /api/v1/sampling endpoints
	// (api_sampling.go); nil means every trace is kept.
	Sampling Sampling

	// Keys, if non-nil, is the API key store: requests must then carry a
	// key (or a UI session) and are confined to its project and role (see
	// auth.go). nil serves every request as auth.Local.
	Keys *auth.Keys
	// AuthOptional requires keys only while Keys holds at least one key
	// (revoked ones included): a loopback server without keys stays open
	// until its first key is created.
	AuthOptional bool
	// Audit, if non-nil, records every trace returned with payloads to a
	// key (debugger or admin).
	Audit *auth.Audit
	// SecureCookies marks the UI session cookie Secure (set it when a TLS
	// proxy fronts the server; requests over TLS get it anyway).
	SecureCookies bool

	// Redact, if non-nil, redacts a batch in place after normalization and
	// before it is submitted, on every receiver: nothing reaches the
	// ingester (and so the disk) unredacted. It must be safe for
	// concurrent use.
	Redact func(*loupe.Batch)
	// RedactionRules, if non-nil, serves GET and PUT
	// /api/v1/redaction/rules; nil answers 404 there.
	RedactionRules RedactionRules
	// Internal, if non-nil, is the credential of an in-process client
	// (serve --demo's feeder), accepted like a key when keys are required.
	Internal *auth.Internal
}

func (o Options) withDefaults() Options {
	if o.MaxBodyBytes <= 0 {
		o.MaxBodyBytes = DefaultMaxBodyBytes
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	return o
}

// Ingester accepts a batch and returns nil once it is durable. It must not
// keep b after returning, except after returning a context error (the
// server then does not reuse b). *ingest.Pipeline implements it.
type Ingester interface {
	Submit(ctx context.Context, b loupe.Batch) error
}

// New returns the HTTP handler serving POST /v1/traces, POST /v1/logs,
// GET /api/v1/traces/{id}, GET /api/v1/traces (search), GET /api/v1/stats,
// GET /healthz and GET /metrics (see routes.go).
// in must not be nil, nor norm unless DecodeOnly is set; reader may be nil,
// and the trace API then answers 501. Search and stats are served when
// reader also implements Searcher, and answer 501 otherwise.
func New(opts Options, norm *otlp.Normalizer, in Ingester, reader loupe.TraceReader) http.Handler {
	opts = opts.withDefaults()
	log := opts.Logger.With("component", "server")
	m := newMetrics(opts.Registerer)
	ex := newExporter(opts, norm, in, m)
	mux := http.NewServeMux()
	reader = newGuard(log, opts, reader) // access rules for every reader (guard.go)
	addRoutes(mux, log, opts, ex, reader)
	addAuthRoutes(mux, log, opts)
	var h http.Handler = newAuthenticator(log, opts, m).wrap(mux)
	h = recoverPanics(log, h)
	h = observe(log, m, h)
	return h
}
