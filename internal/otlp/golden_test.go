package otlp_test

import (
	"bytes"
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/loupehq/loupe/internal/otlp"
)

var update = flag.Bool("update", false, "rewrite testdata/*.golden from the current output")

// goldenOutput is what a fixture normalizes to.
type goldenOutput struct {
	Spans     any            `json:"spans,omitempty"`
	Events    any            `json:"events,omitempty"`
	Rejection otlp.Rejection `json:"rejection"`
}

// TestGolden normalizes every testdata/*.json OTLP/JSON fixture (files
// ending in _logs.json are logs requests) and compares the canonical output
// with testdata/*.golden. Refresh with go test -update and review the diff.
func TestGolden(t *testing.T) {
	files, err := filepath.Glob("testdata/*.json")
	if err != nil || len(files) == 0 {
		t.Fatalf("no fixtures: %v", err)
	}
	n := otlp.NewNormalizer(otlp.Options{})
	for _, file := range files {
		name := strings.TrimSuffix(filepath.Base(file), ".json")
		t.Run(name, func(t *testing.T) {
			body, err := os.ReadFile(file)
			if err != nil {
				t.Fatal(err)
			}
			var out goldenOutput
			if strings.HasSuffix(name, "_logs") {
				req, err := otlp.DecodeLogs(body, otlp.JSON)
				if err != nil {
					t.Fatalf("DecodeLogs: %v", err)
				}
				events, rej := n.Logs("", req, nil)
				out = goldenOutput{Events: events, Rejection: rej}
			} else {
				req, err := otlp.DecodeTraces(body, otlp.JSON)
				if err != nil {
					t.Fatalf("DecodeTraces: %v", err)
				}
				spans, rej := n.Traces("", req, nil)
				for i := range spans {
					if err := spans[i].Validate(); err != nil {
						t.Errorf("span %d: %v", i, err)
					}
				}
				out = goldenOutput{Spans: spans, Rejection: rej}
			}
			got, err := json.MarshalIndent(out, "", "  ")
			if err != nil {
				t.Fatal(err)
			}
			got = append(got, '\n')
			golden := filepath.Join("testdata", name+".golden")
			if *update {
				if err := os.WriteFile(golden, got, 0o644); err != nil {
					t.Fatal(err)
				}
				return
			}
			want, err := os.ReadFile(golden)
			if err != nil {
				t.Fatalf("%v (run go test -update)", err)
			}
			if !bytes.Equal(want, got) {
				t.Errorf("normalized %s mismatch (-want +got):\n%s", file, cmp.Diff(string(want), string(got)))
			}
		})
	}
}
