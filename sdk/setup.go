package loupe

import (
	"context"
	"fmt"
	"net/url"
	"time"

	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracegrpc"
	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracehttp"
	"go.opentelemetry.io/otel/sdk/resource"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/trace"

	"github.com/loupehq/loupe/sdk/redact"
)

// scope is the instrumentation scope name of the helpers' spans.
const scope = "github.com/loupehq/loupe/sdk"

// Tracer starts loupe spans. Its zero value is not usable; get one from New
// or Default.
type Tracer struct {
	tr   trace.Tracer
	tp   *sdktrace.TracerProvider // nil for Default
	proc *processor               // nil for Default
}

// New builds a tracer provider that exports to o.Endpoint (or o.Exporter)
// through redaction and a bounded queue, without touching OpenTelemetry's
// globals. Invalid options return an error wrapping ErrInvalidOptions.
func New(ctx context.Context, o Options) (*Tracer, error) {
	o, err := o.withDefaults()
	if err != nil {
		return nil, err
	}
	var r *redact.Redactor
	if !o.DisableRedaction {
		if o.Redaction != nil {
			r, err = redact.New(*o.Redaction, o.RedactionSecret)
			if err != nil {
				return nil, invalid("Redaction: %v", err)
			}
		} else {
			r = redact.Default(o.RedactionSecret)
		}
	}
	exp := o.Exporter
	if exp == nil {
		if exp, err = otlpExporter(ctx, o); err != nil {
			return nil, err
		}
	}
	exp = &contentExporter{next: exp, redactor: r, content: o.Content}

	attrs := []attribute.KeyValue{attribute.String("service.name", o.Service)}
	if o.Environment != "" {
		attrs = append(attrs, attribute.String("deployment.environment.name", o.Environment))
	}
	if o.DeploymentID != "" {
		attrs = append(attrs, attribute.String(keyDeploymentID, o.DeploymentID))
	}
	if o.ReleaseLabel != "" {
		attrs = append(attrs, attribute.String(keyReleaseLabel, o.ReleaseLabel))
	}
	attrs = append(attrs,
		attribute.String("telemetry.sdk.language", "go"),
		attribute.String("loupe.sdk.content", o.Content.String()))
	res := resource.NewWithAttributes("", attrs...)

	proc := newProcessor(exp, o)
	tp := sdktrace.NewTracerProvider(
		sdktrace.WithResource(res),
		sdktrace.WithSampler(sdktrace.ParentBased(sdktrace.TraceIDRatioBased(o.SampleRatio))),
		sdktrace.WithSpanProcessor(proc),
	)
	return &Tracer{tr: tp.Tracer(scope), tp: tp, proc: proc}, nil
}

// Setup is New, then installs the tracer provider as OpenTelemetry's global
// one (so the package-level Start functions and any other OpenTelemetry
// instrumentation use it). It returns the function that flushes and shuts
// it down; call it before the program exits.
func Setup(ctx context.Context, o Options) (shutdown func(context.Context) error, err error) {
	t, err := New(ctx, o)
	if err != nil {
		return nil, err
	}
	otel.SetTracerProvider(t.tp)
	return t.Shutdown, nil
}

func otlpExporter(ctx context.Context, o Options) (sdktrace.SpanExporter, error) {
	u, _ := url.Parse(o.Endpoint) // checked by withDefaults
	var headers map[string]string
	if o.APIKey != "" {
		headers = map[string]string{"Authorization": "Bearer " + o.APIKey}
	}
	// Retries stop well within one export's timeout: the queue, not the
	// exporter, absorbs an outage (by dropping, counted).
	switch u.Scheme {
	case "grpc", "grpcs":
		opts := []otlptracegrpc.Option{
			otlptracegrpc.WithEndpoint(u.Host),
			otlptracegrpc.WithHeaders(headers),
			otlptracegrpc.WithTimeout(o.ExportTimeout),
			otlptracegrpc.WithRetry(otlptracegrpc.RetryConfig{Enabled: true, InitialInterval: 100 * time.Millisecond,
				MaxInterval: time.Second, MaxElapsedTime: o.ExportTimeout}),
		}
		if u.Scheme == "grpc" {
			opts = append(opts, otlptracegrpc.WithInsecure())
		}
		exp, err := otlptracegrpc.New(ctx, opts...)
		if err != nil {
			return nil, fmt.Errorf("otlp grpc exporter: %w", err)
		}
		return exp, nil
	default:
		opts := []otlptracehttp.Option{
			otlptracehttp.WithEndpointURL(u.JoinPath("v1", "traces").String()),
			otlptracehttp.WithHeaders(headers),
			otlptracehttp.WithTimeout(o.ExportTimeout),
			otlptracehttp.WithRetry(otlptracehttp.RetryConfig{Enabled: true, InitialInterval: 100 * time.Millisecond,
				MaxInterval: time.Second, MaxElapsedTime: o.ExportTimeout}),
		}
		exp, err := otlptracehttp.New(ctx, opts...)
		if err != nil {
			return nil, fmt.Errorf("otlp http exporter: %w", err)
		}
		return exp, nil
	}
}

// Default returns a Tracer on OpenTelemetry's global tracer provider, the
// one Setup installs. It has no Stats and its Shutdown does nothing.
func Default() *Tracer { return &Tracer{tr: otel.Tracer(scope)} }

// Provider returns the tracer provider (nil for Default), e.g. to hand to
// other OpenTelemetry instrumentation.
func (t *Tracer) Provider() trace.TracerProvider {
	if t.tp == nil {
		return otel.GetTracerProvider()
	}
	return t.tp
}

// Stats reports exported and dropped spans.
func (t *Tracer) Stats() Stats {
	if t.proc == nil {
		return Stats{}
	}
	return t.proc.stats()
}

// Flush exports every span ended so far; ctx bounds the wait.
func (t *Tracer) Flush(ctx context.Context) error {
	if t.tp == nil {
		return nil
	}
	return t.tp.ForceFlush(ctx)
}

// Shutdown flushes and stops the tracer; later spans are dropped. ctx
// bounds the wait; with an unreachable endpoint it returns when ctx ends.
func (t *Tracer) Shutdown(ctx context.Context) error {
	if t.tp == nil {
		return nil
	}
	return t.tp.Shutdown(ctx)
}
