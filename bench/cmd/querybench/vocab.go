package main

import (
	"cmp"
	"encoding/hex"
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/loupehq/loupe/bench/workload"
	tracepb "go.opentelemetry.io/proto/otlp/trace/v1"
)

// Vocabulary is what querybench needs to know about the loaded data to ask
// questions with known answers. It is derived from the workload itself:
// loadgen serves workload.NewBodies, whose pool is Variants requests of
// TracesPerRequest traces from workload.New(Seed), sent round-robin with
// fresh ids and timestamps. So every stored trace is a copy of one of the
// PoolTraces distinct pool traces, each copy equally often.
type Vocabulary struct {
	Seed             uint64 `json:"seed"`
	Variants         int    `json:"variants"`
	TracesPerRequest int    `json:"traces_per_request"`
	// PoolTraces is the number of distinct traces (Variants * TracesPerRequest).
	PoolTraces int `json:"pool_traces"`
	// PromptVersion is the prompt version with the most failing pool traces.
	PromptVersion string `json:"prompt_version"`
	// PromptVersionTraces and PromptVersionFailed count the pool traces
	// with PromptVersion, and among them those with a failing span.
	PromptVersionTraces int `json:"prompt_version_traces"`
	PromptVersionFailed int `json:"prompt_version_failed"`
	// Versions is the number of distinct prompt versions.
	Versions int `json:"versions"`
	// FailedTraces counts the pool traces with a failing span.
	FailedTraces int `json:"failed_traces"`
	// CommonWord is in most traces' payloads; CommonTraces counts them.
	CommonWord   string `json:"common_word"`
	CommonTraces int    `json:"common_traces"`
	// RareWord (an order id) is in exactly one pool trace's payloads, so in
	// 1/PoolTraces of the stored traces.
	RareWord string `json:"rare_word"`
	// AbsentWord is in no trace: a full-text search for it scans everything.
	AbsentWord string `json:"absent_word"`
}

var orderIDRe = regexp.MustCompile(`PA-[0-9]{7}`)

// absentWord is a word the workload never produces.
const absentWord = "qzxv-absent-7319"

// poolTrace is what analyze records about one distinct trace.
type poolTrace struct {
	version string
	failed  bool
	common  bool
	orders  map[string]bool
}

// analyze rebuilds loadgen's body pool and derives the vocabulary. It costs
// about as much as loadgen's own start-up (a few hundred ms for 640 traces).
func analyze(seed uint64, variants, tracesPerRequest int) Vocabulary {
	const commonWord = "refund"
	g := workload.New(seed)
	base := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	traces := map[string]*poolTrace{}
	for range variants {
		req := g.Request(tracesPerRequest, base)
		for _, rs := range req.GetResourceSpans() {
			for _, ss := range rs.GetScopeSpans() {
				for _, s := range ss.GetSpans() {
					id := hex.EncodeToString(s.GetTraceId())
					t := traces[id]
					if t == nil {
						t = &poolTrace{orders: map[string]bool{}}
						traces[id] = t
					}
					if s.GetStatus().GetCode() == tracepb.Status_STATUS_CODE_ERROR {
						t.failed = true
					}
					for _, kv := range s.GetAttributes() {
						v := kv.GetValue().GetStringValue()
						if kv.GetKey() == "loupe.prompt.version_id" {
							t.version = v
						}
						if strings.Contains(strings.ToLower(v), commonWord) {
							t.common = true
						}
						for _, o := range orderIDRe.FindAllString(v, -1) {
							t.orders[o] = true
						}
					}
				}
			}
		}
	}

	voc := Vocabulary{Seed: seed, Variants: variants, TracesPerRequest: tracesPerRequest,
		PoolTraces: len(traces), CommonWord: commonWord, AbsentWord: absentWord}
	type versionCount struct {
		id             string
		traces, failed int
	}
	versions := map[string]*versionCount{}
	orders := map[string]int{}
	for _, t := range traces {
		if t.failed {
			voc.FailedTraces++
		}
		if t.common {
			voc.CommonTraces++
		}
		for o := range t.orders {
			orders[o]++
		}
		if t.version == "" {
			continue
		}
		vc := versions[t.version]
		if vc == nil {
			vc = &versionCount{id: t.version}
			versions[t.version] = vc
		}
		vc.traces++
		if t.failed {
			vc.failed++
		}
	}
	var vs []*versionCount
	for _, v := range versions {
		vs = append(vs, v)
	}
	// Most failing traces first; ties by id, so the choice is deterministic.
	slices.SortFunc(vs, func(a, b *versionCount) int {
		return cmp.Or(cmp.Compare(b.failed, a.failed), cmp.Compare(a.id, b.id))
	})
	voc.Versions = len(vs)
	if len(vs) > 0 {
		voc.PromptVersion, voc.PromptVersionTraces, voc.PromptVersionFailed = vs[0].id, vs[0].traces, vs[0].failed
	}
	var unique []string
	for o, n := range orders {
		if n == 1 {
			unique = append(unique, o)
		}
	}
	slices.Sort(unique)
	if len(unique) > 0 {
		voc.RareWord = unique[0]
	}
	return voc
}
