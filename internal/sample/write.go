package sample

import (
	"context"
	"errors"
	"slices"
	"time"

	"github.com/loupehq/loupe"
)

// write decides the due traces, hands the results to Next in batches of
// whole traces, then releases their log references and memory.
func (s *Sampler) write(ctx context.Context, now time.Time, due []dueTrace, lates []late) error {
	pol := s.policy.Load()
	e := env{
		admit: s.seen.admit,
		boost: func(sum *Summary) (float64, string, bool) { return s.boosts.rate(sum, now) },
	}
	slices.SortFunc(due, func(a, b dueTrace) int { return a.p.first.Compare(b.p.first) })

	var (
		b     loupe.Batch
		refs  []uint32
		n     int   // spans+events released after the write
		nb    int64 // their estimated bytes
		cnt   = make(map[countKey]*loupe.Count)
		decs  = make(map[traceKey]*decided)
		stats Stats
		rm    roundMetrics
	)
	flush := func() error {
		for _, c := range cnt {
			b.Counts = append(b.Counts, *c)
		}
		if err := s.submit(ctx, b); err != nil {
			return err
		}
		s.mu.Lock()
		s.releaseLocked(n, nb)
		s.stats.Decided += stats.Decided
		s.stats.Full += stats.Full
		s.stats.Metadata += stats.Metadata
		s.stats.Dropped += stats.Dropped
		s.stats.Late += stats.Late
		s.mu.Unlock()
		s.m.commit(&rm, stats.Late, s.now())
		for _, f := range refs {
			s.plog.unref(f, 1)
		}
		if err := s.seen.save(); err != nil {
			s.log.Warn("cannot save the prompt versions seen", "err", err)
		}
		b, refs, n, nb, stats = loupe.Batch{}, refs[:0], 0, 0, Stats{}
		clear(cnt)
		return nil
	}

	for i := range due {
		t := &due[i]
		ptrs := make([]*loupe.Span, len(t.p.spans))
		for j := range t.p.spans {
			ptrs[j] = &t.p.spans[j]
		}
		sum := summarize(t.key.project, t.key.id, ptrs)
		v := pol.decide(&sum, e)
		d := &decided{sample: v.Sample, reason: v.Reason, dims: sum.Dims, minute: minuteOf(sum.Start, now), at: now}
		decs[t.key] = d
		b.Decisions = append(b.Decisions, loupe.Decision{Project: t.key.project, TraceID: t.key.id, Sample: v.Sample, Decided: now})
		c := countFor(cnt, t.key.project, d)
		c.Requests++
		if len(t.p.spans) > 0 && sum.Status != loupe.TraceOK {
			c.Errors++
		}
		addCount(c, sum.Usage, sum.CostUSD)
		b.Spans = appendKept(b.Spans, t.p.spans, v.Sample)
		if v.Sample.Class == loupe.SampleFull {
			b.Events = append(b.Events, t.p.events...)
		}
		refs = append(refs, t.p.files...)
		n += t.p.len()
		nb += t.p.bytes
		stats.Decided++
		rm.decide(string(v.Sample.Class), v.Sample.Rule, t.p.first)
		switch v.Sample.Class {
		case loupe.SampleFull:
			stats.Full++
		case loupe.SampleMetadata:
			stats.Metadata++
		default:
			stats.Dropped++
		}
		if len(b.Spans) >= maxWriteSpans {
			s.rememberAll(decs)
			clear(decs)
			if err := flush(); err != nil {
				s.putBack(due[i+1:], lates)
				return err
			}
		}
	}
	// Remember before writing, so spans arriving now follow the decision
	// (they are written by a later round, after this one).
	s.rememberAll(decs)
	for _, l := range lates {
		if l.d.minute.IsZero() && len(l.spans) > 0 {
			// A decision read back from the store: count by the spans' own
			// dimensions.
			ptrs := make([]*loupe.Span, len(l.spans))
			for j := range l.spans {
				ptrs[j] = &l.spans[j]
			}
			sum := summarize(l.key.project, l.key.id, ptrs)
			l.d.dims, l.d.minute = sum.Dims, minuteOf(sum.Start, now)
		}
		c := countFor(cnt, l.key.project, l.d)
		for j := range l.spans {
			addCount(c, l.spans[j].Usage, l.spans[j].CostUSD)
		}
		b.Spans = appendKept(b.Spans, l.spans, l.d.sample)
		if l.d.sample.Class == loupe.SampleFull {
			b.Events = append(b.Events, l.events...)
		}
		refs = append(refs, l.file)
		n += len(l.spans) + len(l.events)
		nb += l.bytes
		stats.Late += int64(len(l.spans))
	}
	if len(b.Decisions) == 0 && len(b.Spans) == 0 && len(b.Events) == 0 && len(cnt) == 0 {
		s.release(n, nb)
		for _, f := range refs {
			s.plog.unref(f, 1)
		}
		return nil
	}
	return flush()
}

func (s *Sampler) rememberAll(decs map[traceKey]*decided) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for k, d := range decs {
		s.rememberLocked(k, d)
	}
}

// submit hands b to Next, retrying with backoff until it succeeds or ctx
// ends: the decided spans must reach the store, and the pending log keeps
// them safe meanwhile.
func (s *Sampler) submit(ctx context.Context, b loupe.Batch) error {
	wait := 50 * time.Millisecond
	for {
		err := s.next.Submit(ctx, b)
		if err == nil {
			return nil
		}
		if ctx.Err() != nil || errors.Is(err, loupe.ErrClosed) {
			return err
		}
		s.log.Warn("writing decided traces failed; retrying", "spans", len(b.Spans), "decisions", len(b.Decisions), "err", err, "retry_in", wait)
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(wait):
		}
		wait = min(2*wait, 5*time.Second)
	}
}

// appendKept appends what the sample keeps of spans: all of a full trace,
// the spans without payloads of a metadata-only one, none of a dropped one.
func appendKept(dst, spans []loupe.Span, smp loupe.Sample) []loupe.Span {
	switch smp.Class {
	case loupe.SampleFull, loupe.SampleMetadata:
	default:
		return dst
	}
	for i := range spans {
		sp := spans[i]
		sp.Sample = smp
		if smp.Class == loupe.SampleMetadata {
			sp.Payload = nil
		}
		dst = append(dst, sp)
	}
	return dst
}

type countKey struct {
	project string
	minute  int64
	dims    Dims
}

func countFor(m map[countKey]*loupe.Count, project string, d *decided) *loupe.Count {
	k := countKey{project, d.minute.UnixNano(), d.dims}
	c := m[k]
	if c == nil {
		c = &loupe.Count{Project: project, Minute: d.minute, PromptVersionID: d.dims.PromptVersionID,
			Model: d.dims.Model, Tenant: d.dims.Tenant, Route: d.dims.Route, Environment: d.dims.Environment}
		m[k] = c
	}
	return c
}

func addCount(c *loupe.Count, u loupe.Usage, cost float64) {
	c.InputTokens += u.Input
	c.CacheReadTokens += u.CacheRead
	c.CacheWriteTokens += u.CacheWrite
	c.OutputTokens += u.Output
	c.ReasoningTokens += u.Reasoning
	c.CostUSD += cost
}

// minuteOf is the counter minute of a trace that started at start: its
// UTC minute, or now's for a trace of events only.
func minuteOf(start, now time.Time) time.Time {
	if start.IsZero() {
		start = now
	}
	return start.UTC().Truncate(time.Minute)
}
