package sample

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"path/filepath"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/loupehq/loupe"
)

// Defaults for the zero values of Options.
const (
	DefaultGrace          = 5 * time.Second
	DefaultTimeout        = 60 * time.Second
	DefaultMaxSpans       = 200_000
	DefaultMaxBytes       = 128 << 20
	DefaultMaxWait        = time.Second
	DefaultTick           = 100 * time.Millisecond
	DefaultLogFileBytes   = 64 << 20
	DefaultRememberTraces = 200_000
	// maxWriteSpans bounds the spans of one batch handed to the next
	// stage; a batch holds whole traces, so one huge trace may exceed it.
	maxWriteSpans = 10_000
	// lookupChunk bounds the trace ids of one Decisions call.
	lookupChunk = 500
)

// Ingester takes a batch and returns nil once it is durable
// (*ingest.Pipeline).
type Ingester interface {
	Submit(ctx context.Context, b loupe.Batch) error
}

// Store is what the sampler reads back from the store: decisions already
// recorded (at restart, and for spans that come long after their trace was
// decided) and the spans already stored of a trace (so a replay does not
// store them twice). *duckdb.Store implements it.
type Store interface {
	Decisions(ctx context.Context, project string, ids []loupe.TraceID) (map[loupe.TraceID]loupe.Decision, error)
	Trace(ctx context.Context, project string, id loupe.TraceID) (*loupe.Trace, error)
}

// Options configures New. The zero value of every field but Dir, Policy,
// Next and Store means its default.
type Options struct {
	// Dir holds the pending log, the boosts and the prompt versions seen
	// (<data>/sampling).
	Dir    string
	Policy *Policy
	// Next receives the decided batches; Store answers lookups.
	Next  Ingester
	Store Store
	// Grace is how long after its root span arrived a trace waits for late
	// children. Timeout is how long a trace whose root never arrives waits
	// after its first span.
	Grace   time.Duration
	Timeout time.Duration
	// MaxSpans bounds the spans and events held in memory awaiting a
	// decision or a write. Past three quarters of it the oldest traces are
	// decided early; when it is full, Submit waits up to MaxWait for room
	// and then returns loupe.ErrOverloaded.
	MaxSpans int
	// MaxBytes bounds the same spans and events by their estimated
	// retained size in memory (strings, attributes, payloads; size.go),
	// with the same early decisions and refusals as MaxSpans.
	MaxBytes int64
	MaxWait  time.Duration
	// Tick is how often the decision loop looks for due traces.
	Tick time.Duration
	// LogFileBytes is the size at which the pending log starts a new file.
	LogFileBytes int64
	// RememberTraces bounds the recent decisions kept in memory for late
	// spans; older ones are looked up in the store.
	RememberTraces int
	// Now is the clock; nil means time.Now.
	Now    func() time.Time
	Logger *slog.Logger
	// Registerer, if non-nil, receives the sampler's metrics (metrics.go).
	Registerer prometheus.Registerer
}

type traceKey struct {
	project string
	id      loupe.TraceID
}

// pending is a trace awaiting its decision.
type pending struct {
	spans  []loupe.Span
	events []loupe.SpanEvent
	bytes  int64     // estimated retained size of spans and events
	files  []uint32  // one pending-log reference per entry
	first  time.Time // arrival of its first span or event
	rootAt time.Time // arrival of its root span; zero while none
}

func (p *pending) len() int { return len(p.spans) + len(p.events) }

// decided is a remembered decision.
type decided struct {
	sample loupe.Sample
	reason string
	dims   Dims
	minute time.Time
	at     time.Time
}

// late are spans and events of a trace already decided, waiting to be
// written the way the decision says.
type late struct {
	key    traceKey
	d      *decided
	spans  []loupe.Span
	events []loupe.SpanEvent
	bytes  int64  // estimated retained size of spans and events
	file   uint32 // one pending-log reference
}

// Sampler is the tail sampler. It implements the server's Ingester in
// front of Next. Close must be called to stop its decision loop.
type Sampler struct {
	bufs     recordBufs // the buffers of Submit's records
	next     Ingester
	store    Store
	log      *slog.Logger
	plog     *pendingLog
	boosts   *boosts
	policy   atomic.Pointer[Policy]
	now      func() time.Time
	grace    time.Duration
	timeout  time.Duration
	maxSpans int
	maxBytes int64
	maxWait  time.Duration
	remember int
	seen     *seenVersions
	m        *metrics

	cancel context.CancelFunc
	done   chan struct{}
	kick   chan struct{} // capacity 1: asks the loop for a round now

	round sync.Mutex // one decision round at a time

	mu      sync.Mutex
	pending map[traceKey]*pending
	recent  map[traceKey]*decided
	order   []traceKey // FIFO of recent, for eviction
	late    []late
	held    int           // spans+events in pending, late and in-flight writes
	bytes   int64         // their estimated retained size (size.go)
	space   chan struct{} // closed (and replaced) when held decreases
	stats   Stats
}

// Stats are the sampler's running totals.
type Stats struct {
	Pending  int   `json:"pending_spans"`
	Bytes    int64 `json:"pending_bytes"`
	Traces   int   `json:"pending_traces"`
	Decided  int64 `json:"decided_traces"`
	Full     int64 `json:"kept_full"`
	Metadata int64 `json:"kept_metadata"`
	Dropped  int64 `json:"dropped"`
	Late     int64 `json:"late_spans"`
	Early    int64 `json:"decided_early"`
}

// New opens the sampler's directory, replays the batches acknowledged but
// not decided before a restart, and starts the decision loop.
func New(ctx context.Context, opts Options) (*Sampler, error) {
	if opts.Policy == nil || opts.Next == nil || opts.Store == nil || opts.Dir == "" {
		return nil, errors.New("sample.New: Dir, Policy, Next and Store are required")
	}
	if opts.Grace <= 0 {
		opts.Grace = DefaultGrace
	}
	if opts.Timeout <= 0 {
		opts.Timeout = DefaultTimeout
	}
	if opts.MaxSpans <= 0 {
		opts.MaxSpans = DefaultMaxSpans
	}
	if opts.MaxBytes <= 0 {
		opts.MaxBytes = DefaultMaxBytes
	}
	if opts.MaxWait <= 0 {
		opts.MaxWait = DefaultMaxWait
	}
	if opts.Tick <= 0 {
		opts.Tick = DefaultTick
	}
	if opts.LogFileBytes <= 0 {
		opts.LogFileBytes = DefaultLogFileBytes
	}
	if opts.RememberTraces <= 0 {
		opts.RememberTraces = DefaultRememberTraces
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	log := opts.Logger.With("component", "sample")
	bs, err := openBoosts(filepath.Join(opts.Dir, "boosts.json"), opts.Now)
	if err != nil {
		return nil, err
	}
	seen, err := openSeen(filepath.Join(opts.Dir, "prompt_versions.json"))
	if err != nil {
		return nil, err
	}
	plog, recs, err := openLog(filepath.Join(opts.Dir, "pending"), opts.LogFileBytes, log)
	if err != nil {
		return nil, err
	}
	s := &Sampler{
		next: opts.Next, store: opts.Store, log: log, plog: plog, boosts: bs,
		now: opts.Now, grace: opts.Grace, timeout: opts.Timeout, maxSpans: opts.MaxSpans, maxBytes: opts.MaxBytes,
		maxWait: opts.MaxWait, remember: opts.RememberTraces, seen: seen,
		done: make(chan struct{}), kick: make(chan struct{}, 1),
		pending: make(map[traceKey]*pending), recent: make(map[traceKey]*decided),
		space: make(chan struct{}),
	}
	s.policy.Store(opts.Policy)
	if err := s.replay(ctx, recs); err != nil {
		plog.close()
		return nil, err
	}
	s.m = newMetrics(opts.Registerer, s)
	lctx, cancel := context.WithCancel(context.Background())
	s.cancel = cancel
	go s.loop(lctx, opts.Tick)
	return s, nil
}

// replay rebuilds the pending traces from the log. Traces the store has
// already decided follow their decision: only their spans not yet stored
// are written (see docs/sampling.md for what a crash may lose).
func (s *Sampler) replay(ctx context.Context, recs []replayed) error {
	for _, rc := range recs {
		r, err := decodeRecord(rc.body)
		if err != nil {
			s.log.Warn("sampling log: skipping an unreadable record", "file", fileName(rc.no), "err", err)
			continue
		}
		sizes, _ := batchSize(r.Spans, r.Events)
		s.addLocked(rc.no, time.Unix(0, r.Arrived), r.Spans, r.Events, sizes)
	}
	if len(s.pending) > 0 {
		s.log.Info("sampling log replayed", "traces", len(s.pending), "spans", s.held, "bytes", s.bytes)
	}
	keys := make([]traceKey, 0, len(s.pending))
	for k := range s.pending {
		keys = append(keys, k)
	}
	found, err := s.lookup(ctx, keys)
	if err != nil {
		return fmt.Errorf("look up decisions of replayed traces: %w", err)
	}
	for k, dec := range found {
		p := s.pending[k]
		delete(s.pending, k)
		d := &decided{sample: dec.Sample, reason: "decided before the restart", at: dec.Decided}
		s.rememberLocked(k, d)
		var spans []loupe.Span // a dropped trace's stay nil: its counters were taken with its decision
		if dec.Sample.Class == loupe.SampleFull || dec.Sample.Class == loupe.SampleMetadata {
			spans, err = s.unstored(ctx, k, p.spans)
			if err != nil {
				return err
			}
		}
		var keep int64
		for i := range spans {
			keep += spanSize(&spans[i])
		}
		s.held -= p.len() - len(spans)
		s.bytes -= p.bytes - keep
		if len(spans) > 0 {
			s.late = append(s.late, late{key: k, d: d, spans: spans, bytes: keep, file: p.files[0]})
			p.files = p.files[1:]
		}
		for _, f := range p.files {
			s.plog.unref(f, 1)
		}
	}
	s.plog.sweep()
	return nil
}

// unstored returns the spans of the trace the store does not hold yet.
func (s *Sampler) unstored(ctx context.Context, k traceKey, spans []loupe.Span) ([]loupe.Span, error) {
	t, err := s.store.Trace(ctx, k.project, k.id)
	if errors.Is(err, loupe.ErrNotFound) {
		return spans, nil
	}
	if err != nil {
		return nil, fmt.Errorf("read trace %s: %w", k.id, err)
	}
	have := make(map[loupe.SpanID]bool, len(t.Spans))
	for i := range t.Spans {
		have[t.Spans[i].SpanID] = true
	}
	var out []loupe.Span
	for i := range spans {
		if !have[spans[i].SpanID] {
			out = append(out, spans[i])
		}
	}
	return out, nil
}

// lookup asks the store for the decisions of keys, a chunk at a time.
func (s *Sampler) lookup(ctx context.Context, keys []traceKey) (map[traceKey]loupe.Decision, error) {
	byProject := make(map[string][]loupe.TraceID)
	for _, k := range keys {
		byProject[k.project] = append(byProject[k.project], k.id)
	}
	out := make(map[traceKey]loupe.Decision)
	for project, ids := range byProject {
		for chunk := range slices.Chunk(ids, lookupChunk) {
			m, err := s.store.Decisions(ctx, project, chunk)
			if err != nil {
				return nil, err
			}
			for id, d := range m {
				out[traceKey{project, id}] = d
			}
		}
	}
	return out, nil
}

// Submit appends b to the pending log and returns nil once it is durable;
// the spans are then held until their trace is decided. It returns an
// error wrapping loupe.ErrOverloaded when the sampler holds MaxSpans for
// MaxWait, loupe.ErrClosed after Close, or the log's write error.
func (s *Sampler) Submit(ctx context.Context, b loupe.Batch) error {
	n := b.Len()
	if n == 0 {
		return nil
	}
	sizes, nb := batchSize(b.Spans, b.Events)
	if err := s.reserve(ctx, n, nb); err != nil {
		return err
	}
	now := s.now()
	body, err := s.bufs.encode(now, b.Spans, b.Events)
	if err == nil {
		var no uint32
		no, err = s.plog.append(body) // copies body
		s.bufs.release(body)
		if err == nil {
			s.mu.Lock()
			s.held -= n // addLocked counts them again
			s.bytes -= nb
			s.addLocked(no, now, b.Spans, b.Events, sizes)
			s.mu.Unlock()
			s.plog.unref(no, 1)
			return nil
		}
	}
	s.release(n, nb)
	if s.isClosed() {
		return fmt.Errorf("submit batch: %w", loupe.ErrClosed)
	}
	return err
}

func (s *Sampler) isClosed() bool {
	select {
	case <-s.done:
		return true
	default:
		return false
	}
}

// reserve waits until n more spans of nb bytes fit under MaxSpans and
// MaxBytes (a batch larger than a cap is admitted when nothing is held).
func (s *Sampler) reserve(ctx context.Context, n int, nb int64) error {
	var timer *time.Timer
	for {
		s.mu.Lock()
		if (s.held+n <= s.maxSpans && s.bytes+nb <= s.maxBytes) || s.held == 0 {
			s.held += n
			s.bytes += nb
			s.mu.Unlock()
			if timer != nil {
				timer.Stop()
			}
			return nil
		}
		space := s.space
		s.mu.Unlock()
		s.poke()
		if timer == nil {
			timer = time.NewTimer(s.maxWait)
			defer timer.Stop()
		}
		select {
		case <-space:
		case <-timer.C:
			s.m.overload.Inc()
			s.mu.Lock()
			held, bytes := s.held, s.bytes
			s.mu.Unlock()
			return fmt.Errorf("%w: sampler holds %d spans (limit %d), %d bytes (limit %d) awaiting decisions for %s",
				loupe.ErrOverloaded, held, s.maxSpans, bytes, s.maxBytes, s.maxWait)
		case <-ctx.Done():
			return ctx.Err()
		case <-s.done:
			return fmt.Errorf("submit batch: %w", loupe.ErrClosed)
		}
	}
}

func (s *Sampler) release(n int, nb int64) {
	s.mu.Lock()
	s.releaseLocked(n, nb)
	s.mu.Unlock()
}

func (s *Sampler) releaseLocked(n int, nb int64) {
	if n == 0 && nb == 0 {
		return
	}
	s.held -= n
	s.bytes -= nb
	close(s.space)
	s.space = make(chan struct{})
}

func (s *Sampler) poke() {
	select {
	case s.kick <- struct{}{}:
	default:
	}
}

// addLocked files the spans and events of one logged record (file no)
// under their traces, with their sizes (batchSize: spans, then events).
// It copies the Span values (the caller may reuse its slices) and takes
// one log reference per trace.
func (s *Sampler) addLocked(no uint32, at time.Time, spans []loupe.Span, events []loupe.SpanEvent, sizes []int64) {
	var lates map[traceKey]*late
	touched := make(map[traceKey]bool)
	get := func(k traceKey) (*pending, *late) {
		if d, ok := s.recent[k]; ok {
			if lates == nil {
				lates = make(map[traceKey]*late)
			}
			l := lates[k]
			if l == nil {
				l = &late{key: k, d: d, file: no}
				lates[k] = l
			}
			return nil, l
		}
		p := s.pending[k]
		if p == nil {
			p = &pending{first: at}
			s.pending[k] = p
		}
		if !touched[k] {
			touched[k] = true
			p.files = append(p.files, no)
		}
		return p, nil
	}
	for i := range spans {
		sp := &spans[i]
		p, l := get(traceKey{sp.Project, sp.TraceID})
		if l != nil {
			l.spans = append(l.spans, *sp)
			l.bytes += sizes[i]
			continue
		}
		p.spans = append(p.spans, *sp)
		p.bytes += sizes[i]
		if sp.IsRoot() && p.rootAt.IsZero() {
			p.rootAt = at
		}
	}
	for i := range events {
		ev := &events[i]
		p, l := get(traceKey{ev.Project, ev.TraceID})
		if l != nil {
			l.events = append(l.events, *ev)
			l.bytes += sizes[len(spans)+i]
			continue
		}
		p.events = append(p.events, *ev)
		p.bytes += sizes[len(spans)+i]
	}
	s.plog.ref(no, len(touched)+len(lates))
	for _, l := range lates {
		s.late = append(s.late, *l)
	}
	s.held += len(spans) + len(events)
	for _, n := range sizes {
		s.bytes += n
	}
}

// rememberLocked records d for late spans, evicting the oldest decision
// past RememberTraces.
func (s *Sampler) rememberLocked(k traceKey, d *decided) {
	if _, ok := s.recent[k]; !ok {
		s.order = append(s.order, k)
	}
	s.recent[k] = d
	for len(s.order) > s.remember {
		delete(s.recent, s.order[0])
		s.order[0] = traceKey{}
		s.order = s.order[1:]
	}
	if cap(s.order) > 4*s.remember && len(s.order) < s.remember {
		s.order = slices.Clone(s.order)
	}
}

// loop runs decision rounds every tick, or sooner when poked, until ctx
// ends.
func (s *Sampler) loop(ctx context.Context, tick time.Duration) {
	defer close(s.done)
	t := time.NewTicker(tick)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		case <-s.kick:
		}
		if err := s.Decide(ctx); err != nil && ctx.Err() == nil {
			s.log.Warn("decision round failed; retrying", "err", err)
		}
	}
}

// Decide runs one decision round now: it decides every trace that is due
// (root arrived Grace ago, or first span Timeout ago; the oldest early
// when memory is short), writes late spans of decided traces, and returns
// once the results are durable in Next. The loop calls it every Tick.
func (s *Sampler) Decide(ctx context.Context) error {
	s.round.Lock()
	defer s.round.Unlock()
	now := s.now()
	due, lates := s.takeDue(now, false)
	return s.decideRound(ctx, now, due, lates)
}

// Drain decides now every pending trace whose root span has arrived, as if
// its grace period had ended, and writes them and the late spans; it
// returns once they are durable in Next. Traces still without a root stay
// in the pending log and are decided after the next start (their timeout
// runs from their first arrival). A graceful shutdown calls it before
// Close, with the receivers stopped, so the pending log is empty of
// decidable traces and its files are deleted. It reports what it left.
func (s *Sampler) Drain(ctx context.Context) (kept Stats, err error) {
	s.round.Lock()
	defer s.round.Unlock()
	now := s.now()
	due, lates := s.takeDue(now, true)
	err = s.decideRound(ctx, now, due, lates)
	return s.Stats(), err
}

func (s *Sampler) decideRound(ctx context.Context, now time.Time, due []dueTrace, lates []late) error {
	if len(due) == 0 && len(lates) == 0 {
		return nil
	}
	// Traces without a root may have been decided long ago (their
	// decision forgotten): ask the store.
	var orphans []traceKey
	for _, t := range due {
		if t.p.rootAt.IsZero() {
			orphans = append(orphans, t.key)
		}
	}
	if len(orphans) > 0 {
		found, err := s.lookup(ctx, orphans)
		if err != nil {
			s.putBack(due, lates)
			return fmt.Errorf("look up decisions: %w", err)
		}
		kept := due[:0]
		for _, t := range due {
			if dec, ok := found[t.key]; ok {
				d := &decided{sample: dec.Sample, reason: "decided earlier", at: dec.Decided}
				lates = append(lates, late{key: t.key, d: d, spans: t.p.spans, events: t.p.events, bytes: t.p.bytes, file: t.p.files[0]})
				for _, f := range t.p.files[1:] {
					s.plog.unref(f, 1)
				}
				continue
			}
			kept = append(kept, t)
		}
		due = kept
	}
	return s.write(ctx, now, due, lates)
}

// dueTrace is a trace taken out of pending for its decision.
type dueTrace struct {
	key traceKey
	p   *pending
}

// takeDue removes from pending the traces due at now (plus the oldest when
// more than three quarters of MaxSpans or MaxBytes are held, down to half;
// with drain, every trace whose root arrived) and takes the late spans.
func (s *Sampler) takeDue(now time.Time, drain bool) ([]dueTrace, []late) {
	s.mu.Lock()
	defer s.mu.Unlock()
	var due []dueTrace
	held := 0
	var bytes int64
	for k, p := range s.pending {
		if (!p.rootAt.IsZero() && (drain || now.Sub(p.rootAt) >= s.grace)) || now.Sub(p.first) >= s.timeout {
			due = append(due, dueTrace{k, p})
			delete(s.pending, k)
			continue
		}
		held += p.len()
		bytes += p.bytes
	}
	if held > s.maxSpans*3/4 || bytes > s.maxBytes*3/4 {
		rest := make([]dueTrace, 0, len(s.pending))
		for k, p := range s.pending {
			rest = append(rest, dueTrace{k, p})
		}
		slices.SortFunc(rest, func(a, b dueTrace) int { return a.p.first.Compare(b.p.first) })
		for _, t := range rest {
			if held <= s.maxSpans/2 && bytes <= s.maxBytes/2 {
				break
			}
			held -= t.p.len()
			bytes -= t.p.bytes
			due = append(due, t)
			delete(s.pending, t.key)
			s.stats.Early++
			s.m.early.Inc()
		}
	}
	lates := s.late
	s.late = nil
	return due, lates
}

// putBack returns traces and late spans taken by takeDue after a failed
// lookup, so the next round tries again.
func (s *Sampler) putBack(due []dueTrace, lates []late) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, t := range due {
		s.pending[t.key] = t.p
	}
	s.late = append(lates, s.late...)
}

// Stats returns the sampler's running totals.
func (s *Sampler) Stats() Stats {
	s.mu.Lock()
	defer s.mu.Unlock()
	st := s.stats
	st.Traces = len(s.pending)
	st.Pending = s.held
	st.Bytes = s.bytes
	return st
}

// Close stops the decision loop (a round in progress is cancelled) and
// closes the pending log. Traces still pending stay in the log and are
// decided after the next start. Close is idempotent.
func (s *Sampler) Close(ctx context.Context) error {
	s.cancel()
	select {
	case <-s.done:
	case <-ctx.Done():
		return fmt.Errorf("close sampler: %w", ctx.Err())
	}
	return s.plog.close()
}

// Policy returns the running policy.
func (s *Sampler) Policy() *Policy { return s.policy.Load() }

// SetPolicy replaces the running policy; traces decided from now on follow
// it.
func (s *Sampler) SetPolicy(p *Policy) {
	if p != nil {
		s.policy.Store(p)
	}
}

// AddBoost validates b (a past Until or a bad rate wraps loupe.ErrInvalid),
// stores it for project and returns it with its id.
func (s *Sampler) AddBoost(project string, b Boost) (Boost, error) {
	b.Project = project
	return s.boosts.add(b)
}

// Boosts returns the active boosts of project.
func (s *Sampler) Boosts(project string) []Boost { return s.boosts.active(project) }

// RevokeBoost removes boost id of project; it wraps loupe.ErrNotFound when
// there is no such active boost.
func (s *Sampler) RevokeBoost(project, id string) error { return s.boosts.revoke(project, id) }
