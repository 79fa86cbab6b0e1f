package sample

import (
	"context"
	"fmt"
	"time"

	"github.com/loupehq/loupe"
)

// Explanation says how the sampler judged, or will judge, one trace.
type Explanation struct {
	TraceID loupe.TraceID `json:"trace_id"`
	// State is "pending" (awaiting its decision), "decided", or "unknown"
	// (no span seen and no decision stored).
	State  string       `json:"state"`
	Sample loupe.Sample `json:"sample,omitzero"`
	// Hash is the trace's sampling hash (see Hash), compared with rates.
	Hash float64 `json:"hash"`
	// Reason says why the rule decided as it did.
	Reason  string    `json:"reason,omitempty"`
	Decided time.Time `json:"decided,omitzero"`
	// Due is when a pending trace will be decided at the latest.
	Due time.Time `json:"due,omitzero"`
	// Rule is the deciding rule of the running policy, if it still has it.
	Rule *Rule `json:"rule,omitempty"`
}

// Explain says how the trace id of project was judged: from the recent
// decisions, the pending traces, or else the store.
func (s *Sampler) Explain(ctx context.Context, project string, id loupe.TraceID) (Explanation, error) {
	k := traceKey{project, id}
	ex := Explanation{TraceID: id, Hash: Hash(id), State: "unknown"}
	s.mu.Lock()
	if p, ok := s.pending[k]; ok {
		ex.State = "pending"
		ex.Due = p.first.Add(s.timeout)
		if !p.rootAt.IsZero() {
			ex.Due = p.rootAt.Add(s.grace)
			ex.Reason = fmt.Sprintf("root span arrived; waiting %s for late children", s.grace)
		} else {
			ex.Reason = fmt.Sprintf("root span not seen yet; decided at the latest %s after the first span", s.timeout)
		}
		s.mu.Unlock()
		return ex, nil
	}
	d, ok := s.recent[k]
	s.mu.Unlock()
	if ok {
		ex.State, ex.Sample, ex.Reason, ex.Decided = "decided", d.sample, d.reason, d.at
	} else {
		m, err := s.store.Decisions(ctx, project, []loupe.TraceID{id})
		if err != nil {
			return ex, fmt.Errorf("look up decision: %w", err)
		}
		dec, ok := m[id]
		if !ok {
			return ex, nil
		}
		ex.State, ex.Sample, ex.Decided = "decided", dec.Sample, dec.Decided
		ex.Reason = fmt.Sprintf("decided by rule %q (class %s)", dec.Sample.Rule, classOf(dec.Sample))
	}
	if r := s.policy.Load().Rule(ex.Sample.Rule); r != nil {
		cp := *r
		ex.Rule = &cp
	}
	return ex, nil
}

func classOf(s loupe.Sample) loupe.SampleClass {
	if s.Class == loupe.SampleAll {
		return "all"
	}
	return s.Class
}
