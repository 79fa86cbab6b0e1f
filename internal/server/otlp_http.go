package server

import (
	"bytes"
	"compress/gzip"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"sync"

	"github.com/loupehq/loupe"
	"github.com/loupehq/loupe/internal/otlp"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"
)

// Content types of OTLP/HTTP.
const (
	contentTypeProtobuf = "application/x-protobuf"
	contentTypeJSON     = "application/json"
)

// handleTraces serves POST /v1/traces: an OTLP ExportTraceServiceRequest in
// protobuf or JSON, optionally gzipped. It answers 200 only once the spans
// are durable.
func handleTraces(log *slog.Logger, opts Options, ex *exporter, bufs *bufferPool) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		enc, body, buf, err := readOTLP(w, r, opts.MaxBodyBytes, bufs)
		if err != nil {
			fail(w, r, log, ex, enc, err)
			return
		}
		req, err := otlp.DecodeTraces(body, enc)
		bufs.put(buf) // the decoded request copies what it keeps
		if err != nil {
			fail(w, r, log, ex, enc, err)
			return
		}
		resp, err := ex.traces(r.Context(), transportHTTP, req)
		if err != nil {
			fail(w, r, log, ex, enc, err)
			return
		}
		writeOTLP(w, log, enc, resp)
	})
}

// handleLogs serves POST /v1/logs: an OTLP ExportLogsServiceRequest whose
// records carrying a trace and span id are joined to their spans (GenAI
// message events of the older conventions).
func handleLogs(log *slog.Logger, opts Options, ex *exporter, bufs *bufferPool) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		enc, body, buf, err := readOTLP(w, r, opts.MaxBodyBytes, bufs)
		if err != nil {
			fail(w, r, log, ex, enc, err)
			return
		}
		req, err := otlp.DecodeLogs(body, enc)
		bufs.put(buf)
		if err != nil {
			fail(w, r, log, ex, enc, err)
			return
		}
		resp, err := ex.logs(r.Context(), transportHTTP, req)
		if err != nil {
			fail(w, r, log, ex, enc, err)
			return
		}
		writeOTLP(w, log, enc, resp)
	})
}

// fail answers an OTLP/HTTP request with err as a google.rpc.Status in the
// request's encoding and counts the refusal.
func fail(w http.ResponseWriter, r *http.Request, log *slog.Logger, ex *exporter, enc otlp.Encoding, err error) {
	format := formatStatusProto
	if enc == otlp.JSON {
		format = formatStatusJSON
	}
	p := writeError(w, log.With("path", r.URL.Path), format, err)
	if p.reason != "" {
		ex.m.refused.WithLabelValues(transportHTTP, p.reason).Inc()
	}
}

// writeOTLP writes a 200 with the export response in the request's encoding.
func writeOTLP(w http.ResponseWriter, log *slog.Logger, enc otlp.Encoding, resp proto.Message) {
	var (
		body []byte
		err  error
		ct   = contentTypeProtobuf
	)
	if enc == otlp.JSON {
		body, err = protojson.Marshal(resp)
		ct = contentTypeJSON
	} else {
		body, err = proto.Marshal(resp)
	}
	if err != nil {
		// The spans are stored; only the acknowledgement failed.
		writeError(w, log, formatAPI, fmt.Errorf("marshal export response: %w", err))
		return
	}
	w.Header().Set("Content-Type", ct)
	w.WriteHeader(http.StatusOK)
	w.Write(body)
}

// readOTLP checks the request's Content-Type and Content-Encoding and reads
// the whole body, decompressed, into a pooled buffer. It returns the
// encoding (JSON when the Content-Type is unsupported, so the error is
// readable), the body, and the buffer to put back once the body is decoded.
// Both the body as sent and the decompressed body are capped at max bytes.
func readOTLP(w http.ResponseWriter, r *http.Request, max int64, bufs *bufferPool) (otlp.Encoding, []byte, *bodyBuffer, error) {
	enc, err := requestEncoding(r.Header.Get("Content-Type"))
	if err != nil {
		return otlp.JSON, nil, nil, err
	}
	gzipped := false
	switch ce := strings.ToLower(strings.TrimSpace(r.Header.Get("Content-Encoding"))); ce {
	case "", "identity":
	case "gzip", "x-gzip":
		gzipped = true
	default:
		return enc, nil, nil, fmt.Errorf("%w: content encoding %q; use gzip or none", errUnsupportedMedia, ce)
	}
	if r.ContentLength > max {
		return enc, nil, nil, fmt.Errorf("%w: %d bytes, limit is %d bytes", errTooLarge, r.ContentLength, max)
	}

	buf := bufs.get()
	raw := &buf.raw
	if r.ContentLength > 0 {
		raw.Grow(int(r.ContentLength))
	}
	if _, err := raw.ReadFrom(http.MaxBytesReader(w, r.Body, max)); err != nil {
		bufs.put(buf)
		if _, ok := errors.AsType[*http.MaxBytesError](err); ok {
			return enc, nil, nil, fmt.Errorf("%w: limit is %d bytes", errTooLarge, max)
		}
		return enc, nil, nil, fmt.Errorf("%w: read body: %v", loupe.ErrInvalid, err)
	}
	if !gzipped {
		return enc, raw.Bytes(), buf, nil
	}

	zr := buf.zr
	if zr == nil {
		zr, err = gzip.NewReader(bytes.NewReader(raw.Bytes()))
		buf.zr = zr
	} else {
		err = zr.Reset(bytes.NewReader(raw.Bytes()))
	}
	if err != nil {
		bufs.put(buf)
		return enc, nil, nil, fmt.Errorf("%w: gzip: %v", loupe.ErrInvalid, err)
	}
	plain := &buf.plain
	// Read one byte past the limit to tell "exactly max" from "more".
	n, err := plain.ReadFrom(io.LimitReader(zr, max+1))
	if err != nil {
		bufs.put(buf)
		return enc, nil, nil, fmt.Errorf("%w: gzip: %v", loupe.ErrInvalid, err)
	}
	if n > max {
		bufs.put(buf)
		return enc, nil, nil, fmt.Errorf("%w: decompressed body exceeds the limit of %d bytes", errTooLarge, max)
	}
	return enc, plain.Bytes(), buf, nil
}

// requestEncoding maps a Content-Type to an OTLP encoding; parameters such
// as charset are allowed.
func requestEncoding(ct string) (otlp.Encoding, error) {
	mt, _, _ := strings.Cut(ct, ";")
	mt = strings.TrimSpace(mt)
	switch {
	case strings.EqualFold(mt, contentTypeProtobuf), strings.EqualFold(mt, "application/protobuf"):
		return otlp.Protobuf, nil
	case strings.EqualFold(mt, contentTypeJSON):
		return otlp.JSON, nil
	}
	return otlp.JSON, fmt.Errorf("%w: content type %q; use %s or %s", errUnsupportedMedia, ct, contentTypeProtobuf, contentTypeJSON)
}

// bodyBuffer holds one request's body buffers and gzip reader for reuse.
type bodyBuffer struct {
	raw   bytes.Buffer // body as sent
	plain bytes.Buffer // decompressed body, when gzipped
	zr    *gzip.Reader // nil until the first gzipped body
}

// maxPooledBuffer caps the buffers kept for reuse, so a burst of large
// requests does not pin their memory.
const maxPooledBuffer = 4 << 20

// bufferPool reuses body buffers across requests.
type bufferPool struct{ p sync.Pool }

func newBufferPool() *bufferPool {
	return &bufferPool{p: sync.Pool{New: func() any { return new(bodyBuffer) }}}
}

func (bp *bufferPool) get() *bodyBuffer { return bp.p.Get().(*bodyBuffer) }

// put returns b to the pool; nil is ignored.
func (bp *bufferPool) put(b *bodyBuffer) {
	if b == nil || b.raw.Cap() > maxPooledBuffer || b.plain.Cap() > maxPooledBuffer {
		return
	}
	b.raw.Reset()
	b.plain.Reset()
	bp.p.Put(b)
}
