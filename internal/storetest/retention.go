package storetest

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/loupehq/loupe"
)

// Holder is the optional interface of a store whose traces can be held
// against retention (datasets, investigations).
type Holder interface {
	Hold(ctx context.Context, project string, id loupe.TraceID, reason string) error
	Release(ctx context.Context, project string, id loupe.TraceID, reason string) error
}

// Horizons are the retention horizons a store under RunRetention was
// opened with, for every project; each must be positive, with Payloads <
// ErrorPayloads < Metadata.
type Horizons struct {
	Payloads, ErrorPayloads, Metadata time.Duration
}

// Enforce runs one retention pass of s as of now (the store's clock is not
// used).
type Enforce func(ctx context.Context, s Store, now time.Time) error

// RunRetention checks retention by class: payloads go at their horizon
// (later for traces with a failed span), whole traces at the metadata
// horizon, held traces keep everything until released, and, when the
// store records sampling decisions, a dropped trace's decision goes at the
// metadata horizon. open returns an empty store with retention h that
// strips payloads at the granularity of one Write (a store dropping whole
// files or partitions is opened so that each write gets its own); enforce
// runs a pass. The store must implement Holder.
func RunRetention(t *testing.T, h Horizons, open func(t *testing.T) Store, enforce Enforce) {
	t.Run("Retention", func(t *testing.T) {
		if !(h.Payloads > 0 && h.Payloads < h.ErrorPayloads && h.ErrorPayloads < h.Metadata) {
			t.Fatalf("horizons %+v: want 0 < payloads < error payloads < metadata", h)
		}
		s := open(t)
		holder, ok := s.(Holder)
		if !ok {
			t.Fatalf("%T does not implement storetest.Holder", s)
		}
		ctx := t.Context()
		now := base.Add(h.Metadata + 10*24*time.Hour)
		between := func(a, b time.Duration) time.Duration { return a + (b-a)/2 }
		type aged struct {
			name               string
			age                time.Duration // of the trace's end, before now
			failed, held       bool
			wantMeta, wantBody bool
		}
		traces := []aged{
			{name: "Fresh", age: h.Payloads / 2, wantMeta: true, wantBody: true},
			{name: "PastPayloads", age: between(h.Payloads, h.ErrorPayloads), wantMeta: true},
			{name: "FailedPastPayloads", age: between(h.Payloads, h.ErrorPayloads), failed: true, wantMeta: true, wantBody: true},
			{name: "FailedPastErrorPayloads", age: between(h.ErrorPayloads, h.Metadata), failed: true, wantMeta: true},
			{name: "PastMetadata", age: h.Metadata + 24*time.Hour},
			{name: "HeldPastMetadata", age: h.Metadata + 24*time.Hour, held: true, wantMeta: true, wantBody: true},
		}
		// Oldest first, one write each.
		written := make([][]loupe.Span, len(traces))
		for i := len(traces) - 1; i >= 0; i-- {
			tr := traces[i]
			spans := agedSpans(traceID(uint64(400+i)), now.Add(-tr.age), tr.failed)
			written[i] = spans
			mustWrite(t, s, loupe.Batch{Spans: spans})
		}
		for i, tr := range traces {
			if tr.held {
				if err := holder.Hold(ctx, "p", traceID(uint64(400+i)), "dataset:d1"); err != nil {
					t.Fatalf("Hold(%s) = %v", tr.name, err)
				}
			}
		}
		dr, decisions := s.(DecisionReader)
		oldDrop, newDrop := traceID(450), traceID(451)
		if decisions {
			mustWrite(t, s, loupe.Batch{Decisions: []loupe.Decision{
				{Project: "p", TraceID: oldDrop, Sample: loupe.Sample{Class: loupe.SampleDropped, Weight: 1}, Decided: now.Add(-h.Metadata - time.Hour)},
				{Project: "p", TraceID: newDrop, Sample: loupe.Sample{Class: loupe.SampleDropped, Weight: 1}, Decided: now.Add(-h.Metadata + time.Hour)},
			}})
		}

		check := func(t *testing.T, when string, all bool) {
			t.Helper()
			for i, tr := range traces {
				wantMeta, wantBody := tr.wantMeta || all, tr.wantBody || all
				got, err := s.Trace(ctx, "p", traceID(uint64(400+i)))
				if !wantMeta {
					if !errors.Is(err, loupe.ErrNotFound) {
						t.Errorf("%s: Trace(%s) = %v, want ErrNotFound", when, tr.name, err)
					}
					continue
				}
				if err != nil {
					t.Errorf("%s: Trace(%s) = %v", when, tr.name, err)
					continue
				}
				if len(got.Spans) != len(written[i]) {
					t.Errorf("%s: Trace(%s) has %d spans, want %d", when, tr.name, len(got.Spans), len(written[i]))
				}
				for _, sp := range got.Spans {
					has := sp.Payload != nil
					if has != wantBody {
						t.Errorf("%s: %s span %s payload present = %v, want %v", when, tr.name, sp.Name, has, wantBody)
					}
					if !has && sp.PayloadRemoved != loupe.PayloadRemovedRetention {
						t.Errorf("%s: %s span %s PayloadRemoved = %q, want %q", when, tr.name, sp.Name, sp.PayloadRemoved, loupe.PayloadRemovedRetention)
					}
				}
			}
			if decisions {
				got, err := dr.Decisions(ctx, "p", []loupe.TraceID{oldDrop, newDrop})
				if err != nil {
					t.Fatalf("%s: Decisions() = %v", when, err)
				}
				if _, ok := got[oldDrop]; ok != all {
					t.Errorf("%s: decision past the metadata horizon kept = %v, want %v", when, ok, all)
				}
				if _, ok := got[newDrop]; !ok {
					t.Errorf("%s: decision inside the metadata horizon is gone", when)
				}
			}
		}

		// Positive control: everything is there before the first pass.
		check(t, "before", true)
		if t.Failed() {
			return
		}
		for pass := 1; pass <= 2; pass++ { // a second pass changes nothing
			if err := enforce(ctx, s, now); err != nil {
				t.Fatalf("enforce pass %d = %v", pass, err)
			}
			check(t, fmt.Sprintf("after pass %d", pass), false)
		}

		// Released, the held trace follows the policy at the next pass.
		for i, tr := range traces {
			if !tr.held {
				continue
			}
			if err := holder.Release(ctx, "p", traceID(uint64(400+i)), "dataset:d1"); err != nil {
				t.Fatalf("Release(%s) = %v", tr.name, err)
			}
			if err := enforce(ctx, s, now); err != nil {
				t.Fatalf("enforce after Release = %v", err)
			}
			if _, err := s.Trace(ctx, "p", traceID(uint64(400+i))); !errors.Is(err, loupe.ErrNotFound) {
				t.Errorf("Trace(%s) after Release and a pass = %v, want ErrNotFound", tr.name, err)
			}
		}
	})
}

// agedSpans is a three-span trace ending at end, with a payload on every
// span; failed makes its last span fail.
func agedSpans(id loupe.TraceID, end time.Time, failed bool) []loupe.Span {
	start := end.Add(-time.Second)
	spans := make([]loupe.Span, 3)
	for i := range spans {
		s := start.Add(time.Duration(i) * 100 * time.Millisecond)
		spans[i] = loupe.Span{
			Project: "p", TraceID: id, SpanID: spanID(uint64(id[15])<<8 | uint64(i+1)),
			Name: fmt.Sprintf("step%d", i), Kind: loupe.KindLLM, Status: loupe.StatusOK,
			Start: s, End: s.Add(100 * time.Millisecond),
			Payload: &loupe.Payload{InputValue: fmt.Sprintf("question %d of %x", i, id[:4]), OutputValue: "answer"},
		}
		if i > 0 {
			spans[i].ParentSpanID = spans[0].SpanID
		}
	}
	spans[len(spans)-1].End = end
	if failed {
		spans[2].Status = loupe.StatusError
		spans[2].ErrorType = "INVALID_ARGUMENT"
	}
	return spans
}
