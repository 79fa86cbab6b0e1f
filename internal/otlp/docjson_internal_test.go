package otlp

import (
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	benchwl "github.com/loupehq/loupe/bench/workload"
)

// checkDocs compares the direct document path with the generic one for s;
// it returns whether the direct path handled it.
func checkDocs(t *testing.T, s string) bool {
	t.Helper()
	var mp msgParser
	got, ok := mp.docs(s)
	if !ok {
		return false
	}
	want := docsFromList(structured(strValue(s)))
	if diff := cmp.Diff(want, got, cmp.AllowUnexported(docEntry{})); diff != "" {
		t.Errorf("docs(%q) mismatch (-generic +direct):\n%s", s, diff)
	}
	return true
}

func TestDocsDirect(t *testing.T) {
	tests := []struct {
		name   string
		in     string
		direct bool
	}{
		{"empty", `[]`, true},
		{"workload shape", `[{"id":"doc_102","score":0.91,"title":"Refunds","content":"Refunds take <5 days.\nAsk."},{"id":"doc_087","score":0.84,"title":"t","content":"c"}]`, true},
		{"other names", `[{"document_id":7,"score":"0.5","tokens":12,"page_content":{"b":1,"a":2}},{"doc_id":"d","text":null,"document":"x"}]`, true},
		{"strings and junk", `["a", 1, null, [], {"id":""}]`, true},
		{"score kinds", `[{"id":"a","score":1},{"id":"b","score":true},{"id":"c","score":" 2e1 "},{"id":"d","score":null}]`, true},
		{"tokens float", `[{"id":"a","tokens":12.9},{"id":"b","tokens":"7"}]`, true},
		{"distance", `[{"id":"a","distance":0.2}]`, false},
		{"metadata", `[{"id":"a","metadata":{"k":"v"}}]`, false},
		{"repeated key", `[{"id":"a","id":"b"}]`, false},
		{"object", `{"id":"a"}`, false},
		{"invalid", `[{"id":"a"]`, false},
		{"not json", `doc_1`, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := checkDocs(t, tt.in); got != tt.direct {
				t.Errorf("direct path taken for %q: %v, want %v", tt.in, got, tt.direct)
			}
		})
	}
}

// TestDocsDirectWorkload checks that the standard workload's retrieved
// documents take the direct path and agree with the generic one.
func TestDocsDirectWorkload(t *testing.T) {
	g := benchwl.New(11)
	req := g.Request(20, time.Date(2026, 6, 3, 17, 0, 0, 0, time.UTC))
	n := 0
	for _, s := range req.ResourceSpans[0].ScopeSpans[0].Spans {
		for _, kv := range s.Attributes {
			if kv.GetKey() == "gen_ai.retrieval.documents" {
				n++
				if !checkDocs(t, kv.GetValue().GetStringValue()) {
					t.Errorf("documents of span %s: direct path not taken", s.Name)
				}
			}
		}
	}
	if n == 0 {
		t.Fatal("no retrieval documents in the workload")
	}
}

func FuzzDocsDirect(f *testing.F) {
	f.Add(`[{"id":"doc_102","score":0.91,"title":"Refunds","content":"Refunds take <5 days.\nAsk."}]`)
	f.Add(`[{"document_id":7,"score":"0.5","tokens":12,"page_content":{"b":1,"a":2}},"x",null]`)
	f.Fuzz(func(t *testing.T, s string) {
		checkDocs(t, s)
	})
}
