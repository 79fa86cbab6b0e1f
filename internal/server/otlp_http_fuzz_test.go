package server_test

import (
	"net/http"
	"testing"

	"github.com/loupehq/loupe/internal/server"
)

// FuzzHandleTraces feeds arbitrary bodies to POST /v1/traces: the handler
// must never panic and never answer 500 (clients drop data on 500); every
// outcome is 200, 400, 413 or 415.
func FuzzHandleTraces(f *testing.F) {
	pb := mustMarshal(f, supportTrace(3))
	f.Add(pb, false, false)
	f.Add(gzipped(f, pb), false, true)
	f.Add([]byte(jsonTrace), true, false)
	f.Add(gzipped(f, []byte(jsonTrace)), true, true)
	f.Add([]byte{}, false, false)
	f.Add([]byte("\x0a\xff\xff\xff\xff\x0f"), false, false)
	f.Add([]byte(`{"resourceSpans":[{"scopeSpans":[{"spans":[{"traceId":"zz"}]}]}]}`), true, false)
	f.Add([]byte(`{"resourceSpans":[{"scopeSpans":[{"spans":[{"traceId":"4bf92f3577b34da6a3ce929d0e0e4736","spanId":"00f067aa0ba902b7","startTimeUnixNano":"1","endTimeUnixNano":"0"}]}]}]}`), true, false)

	h := newHandler(f, server.Options{MaxBodyBytes: 1 << 20}, &fakeIngester{}, nil)
	f.Fuzz(func(t *testing.T, body []byte, json, gz bool) {
		ct := "application/x-protobuf"
		if json {
			ct = "application/json"
		}
		ce := ""
		if gz {
			ce = "gzip"
		}
		rec := post(h, "/v1/traces", ct, ce, body)
		switch rec.Code {
		case http.StatusOK, http.StatusBadRequest, http.StatusRequestEntityTooLarge, http.StatusUnsupportedMediaType:
		default:
			t.Fatalf("POST /v1/traces = %d %q, want 200, 400, 413 or 415", rec.Code, rec.Body)
		}
	})
}
