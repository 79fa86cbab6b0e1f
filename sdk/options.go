package loupe

import (
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"time"

	sdktrace "go.opentelemetry.io/otel/sdk/trace"

	"github.com/loupehq/loupe/sdk/redact"
)

// Content says how much message, tool and retrieval content spans carry.
type Content int

const (
	// ContentFull captures content (after redaction). The default.
	ContentFull Content = iota
	// ContentMetadata keeps the shape of content (message roles, tool call
	// names and ids, document ids and scores) but drops every text.
	ContentMetadata
	// ContentOff drops every content attribute.
	ContentOff
)

// String returns full, metadata or off.
func (c Content) String() string {
	switch c {
	case ContentFull:
		return "full"
	case ContentMetadata:
		return "metadata"
	case ContentOff:
		return "off"
	}
	return fmt.Sprintf("Content(%d)", int(c))
}

// Options configures Setup and New. The zero value exports OTLP/HTTP to a
// loupe server on http://127.0.0.1:4318 with the default redaction rules.
type Options struct {
	// Endpoint is the OTLP endpoint: http://host:port or https://host:port
	// for OTLP/HTTP (the /v1/traces path is added), grpc://host:port (plain)
	// or grpcs://host:port (TLS) for OTLP/gRPC. "" = http://127.0.0.1:4318.
	Endpoint string
	// APIKey is sent as "Authorization: Bearer <key>" when not empty.
	APIKey string

	// Service is service.name; required.
	Service string
	// Environment is deployment.environment.name (e.g. production).
	Environment string
	// DeploymentID is loupe.deployment.id (e.g. a build or commit id).
	DeploymentID string
	// ReleaseLabel is the default loupe.prompt.release_label of every span
	// (e.g. production, canary); prompt spans may override it.
	ReleaseLabel string

	// Redaction holds the redaction rules; nil = redact.Default rules.
	Redaction *redact.Config
	// RedactionSecret keys the hash of user and account ids (HMAC). Use
	// the same secret as the server so hashes join. Required unless
	// DisableRedaction is set.
	RedactionSecret []byte
	// DisableRedaction turns client-side redaction off (the server
	// redacts anyway). Ids are then sent as they are.
	DisableRedaction bool
	// Content says how much content spans carry; default ContentFull.
	Content Content

	// SampleRatio is the fraction of traces recorded, in (0, 1]; 0 = 1
	// (all). The decision follows the parent, so a trace is whole or absent.
	// Everything recorded is sent: the server's tail sampler does the rest
	// (see KeepTrace for a hint to it).
	SampleRatio float64

	// QueueSize bounds the spans waiting for export; when full, new spans
	// are dropped and counted (Stats), never blocking the application.
	// 0 = 4096.
	QueueSize int
	// BatchSize is the largest export batch; 0 = 512.
	BatchSize int
	// BatchTimeout is how long a partial batch waits; 0 = 1s.
	BatchTimeout time.Duration
	// ExportTimeout bounds one export (including the exporter's retries);
	// 0 = 10s.
	ExportTimeout time.Duration

	// Exporter, when set, replaces the OTLP exporter that Endpoint would
	// build (tests, custom transports). It still gets redacted spans.
	Exporter sdktrace.SpanExporter
	// Logger receives warnings about dropped spans and failed exports;
	// nil = no logging.
	Logger *slog.Logger
}

// ErrInvalidOptions is wrapped by every error Setup and New return for bad
// Options.
var ErrInvalidOptions = errors.New("invalid options")

func invalid(format string, args ...any) error {
	return fmt.Errorf("%w: %s", ErrInvalidOptions, fmt.Sprintf(format, args...))
}

// withDefaults validates o and fills its defaults.
func (o Options) withDefaults() (Options, error) {
	if o.Service == "" {
		return o, invalid("Service is empty: name the application (service.name), e.g. Options{Service: \"support-agent\"}")
	}
	if o.Endpoint == "" {
		o.Endpoint = "http://127.0.0.1:4318"
	}
	if o.Exporter == nil {
		u, err := url.Parse(o.Endpoint)
		if err != nil {
			return o, invalid("Endpoint %q: %v", o.Endpoint, err)
		}
		switch u.Scheme {
		case "http", "https", "grpc", "grpcs":
		default:
			return o, invalid("Endpoint %q: scheme must be http, https, grpc or grpcs, e.g. http://127.0.0.1:4318", o.Endpoint)
		}
		if u.Host == "" {
			return o, invalid("Endpoint %q: no host, e.g. http://127.0.0.1:4318", o.Endpoint)
		}
	}
	if !o.DisableRedaction && len(o.RedactionSecret) == 0 {
		return o, invalid("RedactionSecret is empty: set a secret (the server's, so hashed ids join) or DisableRedaction")
	}
	switch o.Content {
	case ContentFull, ContentMetadata, ContentOff:
	default:
		return o, invalid("Content %d: want ContentFull, ContentMetadata or ContentOff", int(o.Content))
	}
	switch {
	case o.SampleRatio < 0 || o.SampleRatio > 1 || o.SampleRatio != o.SampleRatio:
		return o, invalid("SampleRatio %v: want a fraction in (0, 1], or 0 for all", o.SampleRatio)
	case o.QueueSize < 0:
		return o, invalid("QueueSize %d: must not be negative", o.QueueSize)
	case o.BatchSize < 0:
		return o, invalid("BatchSize %d: must not be negative", o.BatchSize)
	case o.BatchTimeout < 0 || o.ExportTimeout < 0:
		return o, invalid("BatchTimeout and ExportTimeout must not be negative")
	}
	if o.SampleRatio == 0 {
		o.SampleRatio = 1
	}
	if o.QueueSize == 0 {
		o.QueueSize = 4096
	}
	if o.BatchSize == 0 {
		o.BatchSize = 512
	}
	if o.BatchSize > o.QueueSize {
		o.BatchSize = o.QueueSize
	}
	if o.BatchTimeout == 0 {
		o.BatchTimeout = time.Second
	}
	if o.ExportTimeout == 0 {
		o.ExportTimeout = 10 * time.Second
	}
	return o, nil
}
