package main

import (
	"bytes"
	"compress/gzip"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	coltracepb "go.opentelemetry.io/proto/otlp/collector/trace/v1"
	"go.uber.org/goleak"
	"google.golang.org/protobuf/proto"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// sink is a throwaway OTLP/HTTP receiver that decodes and counts what it gets.
type sink struct {
	reply func(n int64) int // status for the n-th request (1-based)

	requests, spans, bytes atomic.Int64
	mu                     sync.Mutex
	traceIDs               map[string]bool
	dupes                  int
	gzipped                atomic.Int64
}

func (s *sink) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	n := s.requests.Add(1)
	if r.Method != http.MethodPost || r.URL.Path != "/v1/traces" || r.Header.Get("Content-Type") != "application/x-protobuf" {
		http.Error(w, "bad request line", http.StatusBadRequest)
		return
	}
	var body io.Reader = r.Body
	if r.Header.Get("Content-Encoding") == "gzip" {
		zr, err := gzip.NewReader(r.Body)
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		s.gzipped.Add(1)
		body = zr
	}
	raw, err := io.ReadAll(body)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	if code := s.reply(n); code != http.StatusOK {
		w.Header().Set("Retry-After", "0")
		w.WriteHeader(code)
		return
	}
	var req coltracepb.ExportTraceServiceRequest
	if err := proto.Unmarshal(raw, &req); err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	s.bytes.Add(int64(len(raw)))
	s.mu.Lock()
	seen := map[string]bool{}
	for _, rs := range req.ResourceSpans {
		for _, ss := range rs.ScopeSpans {
			s.spans.Add(int64(len(ss.Spans)))
			for _, sp := range ss.Spans {
				seen[string(sp.TraceId)] = true
			}
		}
	}
	for id := range seen {
		if s.traceIDs[id] {
			s.dupes++
		}
		s.traceIDs[id] = true
	}
	s.mu.Unlock()
	w.Header().Set("Content-Type", "application/x-protobuf")
	w.WriteHeader(http.StatusOK)
}

func runLoadgen(t *testing.T, reply func(int64) int, args ...string) (Result, *sink) {
	t.Helper()
	s := &sink{reply: reply, traceIDs: map[string]bool{}}
	srv := httptest.NewServer(s)
	defer srv.Close()
	var stdout, stderr bytes.Buffer
	args = append([]string{"-endpoint", srv.URL, "-json", "-variants", "4"}, args...)
	if err := run(t.Context(), args, &stdout, &stderr); err != nil {
		t.Fatalf("run(%q) = %v; stderr:\n%s", args, err, stderr.String())
	}
	var res Result
	if err := json.Unmarshal(stdout.Bytes(), &res); err != nil {
		t.Fatalf("decode result %q: %v", stdout.String(), err)
	}
	return res, s
}

func ok(int64) int { return http.StatusOK }

func TestRunCountsAckedSpans(t *testing.T) {
	for _, gz := range []bool{false, true} {
		name := "Protobuf"
		args := []string{"-max-requests", "25", "-duration", "10s", "-concurrency", "3", "-traces-per-request", "4"}
		if gz {
			name = "Gzip"
			args = append(args, "-gzip")
		}
		t.Run(name, func(t *testing.T) {
			res, s := runLoadgen(t, ok, args...)
			if res.Requests != 25 || res.AckedRequests != 25 {
				t.Errorf("requests = %d sent, %d acked; want 25, 25", res.Requests, res.AckedRequests)
			}
			if got, want := res.AckedSpans, s.spans.Load(); got != want || got != 25*4*12 {
				t.Errorf("AckedSpans = %d, server decoded %d, want both %d", got, want, 25*4*12)
			}
			if got, want := res.BytesAcked, s.bytes.Load(); got != want || res.BytesSent != want {
				t.Errorf("BytesAcked = %d, BytesSent = %d, server got %d uncompressed bytes", got, res.BytesSent, want)
			}
			if gz {
				if s.gzipped.Load() != 25 || res.WireBytes >= res.BytesSent {
					t.Errorf("gzip: %d gzipped requests, %d wire bytes for %d bytes; want 25 and fewer wire bytes", s.gzipped.Load(), res.WireBytes, res.BytesSent)
				}
			} else if res.WireBytes != res.BytesSent {
				t.Errorf("WireBytes = %d, want BytesSent %d without gzip", res.WireBytes, res.BytesSent)
			}
			if s.dupes != 0 || len(s.traceIDs) != 100 {
				t.Errorf("server saw %d distinct trace ids and %d repeats; want 100 and 0", len(s.traceIDs), s.dupes)
			}
			if res.Errors != 0 || res.Throttled != 0 {
				t.Errorf("errors = %d, throttled = %d; want 0, 0 (first error %q)", res.Errors, res.Throttled, res.FirstError)
			}
			if res.P50Ms <= 0 || res.P99Ms < res.P50Ms {
				t.Errorf("latency p50 = %v ms, p99 = %v ms; want 0 < p50 <= p99", res.P50Ms, res.P99Ms)
			}
			if res.SpansPerSec <= 0 || res.CPUSeconds <= 0 {
				t.Errorf("SpansPerSec = %v, CPUSeconds = %v; want both > 0", res.SpansPerSec, res.CPUSeconds)
			}
		})
	}
}

func TestRunThrottledAndErrors(t *testing.T) {
	tests := []struct {
		name                           string
		reply                          func(int64) int
		wantAcked, wantThrottled, want int64 // want: errors
	}{
		{"ServiceUnavailable", func(n int64) int {
			if n%2 == 0 {
				return http.StatusServiceUnavailable
			}
			return http.StatusOK
		}, 10, 10, 0},
		{"TooManyRequests", func(n int64) int {
			if n <= 5 {
				return http.StatusTooManyRequests
			}
			return http.StatusOK
		}, 15, 5, 0},
		{"InternalError", func(int64) int { return http.StatusInternalServerError }, 0, 0, 20},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res, _ := runLoadgen(t, tt.reply, "-max-requests", "20", "-concurrency", "1", "-traces-per-request", "1")
			if res.AckedRequests != tt.wantAcked || res.Throttled != tt.wantThrottled || res.Errors != tt.want {
				t.Errorf("acked, throttled, errors = %d, %d, %d; want %d, %d, %d",
					res.AckedRequests, res.Throttled, res.Errors, tt.wantAcked, tt.wantThrottled, tt.want)
			}
			if got, want := res.AckedSpans, tt.wantAcked*12; got != want {
				t.Errorf("AckedSpans = %d, want %d", got, want)
			}
			if tt.want > 0 && !strings.Contains(res.FirstError, "500") {
				t.Errorf("FirstError = %q, want it to name the 500 status", res.FirstError)
			}
		})
	}
}

func TestRunStopsAfterDuration(t *testing.T) {
	begin := time.Now()
	res, _ := runLoadgen(t, ok, "-duration", "300ms", "-concurrency", "2", "-traces-per-request", "2")
	if took := time.Since(begin); took > 5*time.Second {
		t.Errorf("a 300ms run took %v", took)
	}
	if res.Seconds < 0.3 || res.AckedRequests == 0 {
		t.Errorf("Seconds = %v, AckedRequests = %d; want >= 0.3 and > 0", res.Seconds, res.AckedRequests)
	}
}

func TestRunDeadServerCountsErrors(t *testing.T) {
	srv := httptest.NewServer(http.NotFoundHandler())
	url := srv.URL
	srv.Close() // nothing listens there any more
	var stdout, stderr bytes.Buffer
	args := []string{"-endpoint", url, "-json", "-variants", "1", "-duration", "200ms", "-concurrency", "1", "-progress=false"}
	if err := run(t.Context(), args, &stdout, &stderr); err != nil {
		t.Fatalf("run = %v", err)
	}
	var res Result
	if err := json.Unmarshal(stdout.Bytes(), &res); err != nil {
		t.Fatalf("decode result: %v", err)
	}
	if res.Errors == 0 || res.AckedSpans != 0 || res.FirstError == "" {
		t.Errorf("errors = %d, acked spans = %d, first error %q; want > 0, 0, set", res.Errors, res.AckedSpans, res.FirstError)
	}
}

func TestParseFlagsRejects(t *testing.T) {
	tests := []struct {
		name string
		args []string
		want string
	}{
		{"RemoteHost", []string{"-endpoint", "http://example.com:4318"}, "loopback"},
		{"RemoteIP", []string{"-endpoint", "http://10.0.0.1:4318"}, "loopback"},
		{"Scheme", []string{"-endpoint", "ftp://127.0.0.1"}, "http"},
		{"ZeroDuration", []string{"-duration", "0s"}, "-duration"},
		{"LongDuration", []string{"-duration", "2h"}, "-duration"},
		{"Concurrency", []string{"-concurrency", "0"}, "-concurrency"},
		{"Traces", []string{"-traces-per-request", "0"}, "-traces-per-request"},
		{"Extra", []string{"serve"}, "unexpected"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := parseFlags(tt.args, io.Discard)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("parseFlags(%q) = %v, want an error mentioning %q", tt.args, err, tt.want)
			}
		})
	}
	for _, ep := range []string{"http://127.0.0.1:4318", "http://localhost:4318", "http://[::1]:4318", "http://127.0.0.2:9"} {
		if _, err := parseFlags([]string{"-endpoint", ep}, io.Discard); err != nil {
			t.Errorf("parseFlags(-endpoint %s) = %v, want nil", ep, err)
		}
	}
}
