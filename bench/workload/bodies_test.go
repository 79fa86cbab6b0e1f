package workload_test

import (
	"sync"
	"testing"
	"time"

	"github.com/loupehq/loupe/bench/workload"
	coltracepb "go.opentelemetry.io/proto/otlp/collector/trace/v1"
	"google.golang.org/protobuf/proto"
)

func decode(t *testing.T, body []byte) *coltracepb.ExportTraceServiceRequest {
	t.Helper()
	var req coltracepb.ExportTraceServiceRequest
	if err := proto.Unmarshal(body, &req); err != nil {
		t.Fatalf("unmarshal body: %v", err)
	}
	return &req
}

func TestBodiesNext(t *testing.T) {
	b := workload.NewBodies(workload.BodiesOptions{Seed: 1, Variants: 4, TracesPerBody: 5})
	if got := b.TracesPerBody(); got != 5 {
		t.Fatalf("TracesPerBody() = %d, want 5", got)
	}
	// The pool holds the generator's requests; bodies must carry the same
	// content, with only trace ids and timestamps rewritten.
	g := workload.New(1)
	want := g.Request(5, time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC))

	now := time.Now()
	seen := map[string]bool{}
	var buf []byte
	for i := range 9 {
		var spans int
		buf, spans = b.Next(buf, now)
		req := decode(t, buf)
		ids, byID := traces(req)
		if len(ids) != 5 {
			t.Fatalf("body %d: %d traces, want 5", i, len(ids))
		}
		n := 0
		for _, id := range ids {
			if seen[id] {
				t.Fatalf("body %d: trace id %x repeated", i, id)
			}
			seen[id] = true
			n += len(byID[id])
			checkTrace(t, byID[id])
		}
		if n != spans {
			t.Errorf("body %d: Next reported %d spans, body has %d", i, spans, n)
		}
		var latest uint64
		for _, s := range req.ResourceSpans[0].ScopeSpans[0].Spans {
			latest = max(latest, s.EndTimeUnixNano)
			if s.StartTimeUnixNano < uint64(now.Add(-time.Minute).UnixNano()) {
				t.Fatalf("body %d: span %s starts at %v, more than a minute before now %v", i, s.Name,
					time.Unix(0, int64(s.StartTimeUnixNano)), now)
			}
		}
		if got, want := time.Unix(0, int64(latest)), now.Add(-time.Millisecond); !got.Equal(want) {
			t.Errorf("body %d: last span ends at %v, want %v", i, got, want)
		}
		if i%4 == 0 {
			// Same variant as the generator's first request: equal once ids and times are aligned.
			got := decode(t, buf)
			gs := got.ResourceSpans[0].ScopeSpans[0].Spans
			ws := want.ResourceSpans[0].ScopeSpans[0].Spans
			if len(gs) != len(ws) {
				t.Fatalf("body %d: %d spans, want %d", i, len(gs), len(ws))
			}
			shift := gs[0].StartTimeUnixNano - ws[0].StartTimeUnixNano
			for j := range gs {
				if gs[j].EndTimeUnixNano-ws[j].EndTimeUnixNano != shift {
					t.Fatalf("body %d span %d: timestamps not shifted uniformly", i, j)
				}
				gs[j].TraceId, gs[j].StartTimeUnixNano, gs[j].EndTimeUnixNano = ws[j].TraceId, ws[j].StartTimeUnixNano, ws[j].EndTimeUnixNano
				for k, e := range gs[j].Events {
					e.TimeUnixNano = ws[j].Events[k].TimeUnixNano
				}
			}
			if !proto.Equal(got, want) {
				t.Errorf("body %d: content differs from the generator's request beyond ids and times", i)
			}
		}
	}
}

func TestBodiesConcurrentIDsDistinct(t *testing.T) {
	b := workload.NewBodies(workload.BodiesOptions{Seed: 2, Variants: 3, TracesPerBody: 4})
	const workers, each = 4, 50
	got := make([][]string, workers)
	var wg sync.WaitGroup
	for w := range workers {
		wg.Go(func() {
			var buf []byte
			for range each {
				buf, _ = b.Next(buf, time.Now())
				var req coltracepb.ExportTraceServiceRequest
				if err := proto.Unmarshal(buf, &req); err != nil {
					t.Errorf("unmarshal: %v", err)
					return
				}
				ids, _ := traces(&req)
				got[w] = append(got[w], ids...)
			}
		})
	}
	wg.Wait()
	seen := map[string]bool{}
	for _, ids := range got {
		for _, id := range ids {
			if seen[id] {
				t.Fatalf("trace id %x repeated across workers", id)
			}
			seen[id] = true
		}
	}
	if want := workers * each * 4; len(seen) != want {
		t.Errorf("%d distinct trace ids, want %d", len(seen), want)
	}
}

func TestBodiesSaltSeparatesRuns(t *testing.T) {
	a := workload.NewBodies(workload.BodiesOptions{Seed: 1, Variants: 1, TracesPerBody: 2, IDSalt: 1})
	b := workload.NewBodies(workload.BodiesOptions{Seed: 1, Variants: 1, TracesPerBody: 2, IDSalt: 2})
	now := time.Now()
	ba, _ := a.Next(nil, now)
	bb, _ := b.Next(nil, now)
	ia, _ := traces(decode(t, ba))
	ib, _ := traces(decode(t, bb))
	for _, x := range ia {
		for _, y := range ib {
			if x == y {
				t.Fatalf("salts 1 and 2 produced the same trace id %x", x)
			}
		}
	}
}

func BenchmarkBodiesNext(b *testing.B) {
	bodies := workload.NewBodies(workload.BodiesOptions{Seed: 1, Variants: 16, TracesPerBody: 10})
	buf, _ := bodies.Next(nil, time.Now())
	b.SetBytes(int64(len(buf)))
	b.ReportAllocs()
	now := time.Now()
	total := 0
	for b.Loop() {
		var spans int
		buf, spans = bodies.Next(buf, now)
		total += spans
	}
	b.ReportMetric(float64(total)/b.Elapsed().Seconds(), "spans/s")
}
