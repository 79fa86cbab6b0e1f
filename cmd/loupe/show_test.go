package main

import (
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

var update = flag.Bool("update", false, "rewrite testdata/*.golden")

// referenceTimeline is the reference trace of DESIGN.md §1, verbatim.
const referenceTimeline = `trace 4f1c9a27e0b3  support_agent.request   production   tenant_431   133 ms   DEGRADED
prompt support_agent_v3 @ prv_2026_06_03_17 (production)   model gpt-4.1-mini   3,412 tok   $0.0021
   0 ms ├─ auth.check_user_entitlements            ok      8 ms
   8 ms ├─ prompt.load                             ok     11 ms  support_agent_v3 prv_2026_06_03_17
  19 ms ├─ retrieval.search_policy_docs            ok     23 ms  index=support_policy_prod
       │  └─ docs doc_102 0.91, doc_087 0.84       query="refund delayed package"
  42 ms ├─ llm.call.plan_response                  ok     49 ms  1,204→86 tok  stop
  91 ms ├─ tool.call.create_refund                 ERROR   5 ms  INVALID_ARGUMENT
       │  └─ refund_amount_cents must be <= order_total_cents
  96 ms ├─ llm.call.recover_after_tool_error       ok     32 ms  1,980→142 tok  stop
 128 ms └─ response.sent                           ok      5 ms
`

func readShowFixture(t *testing.T, name string) *showTrace {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	var tr showTrace
	if err := json.Unmarshal(b, &tr); err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	return &tr
}

// checkGoldenText compares got with testdata/name, rewriting it with -update.
func checkGoldenText(t *testing.T, name, got string) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if *update {
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("read golden file (run go test -update): %v", err)
	}
	if diff := cmp.Diff(string(want), got); diff != "" {
		t.Errorf("%s mismatch (-want +got):\n%s", name, diff)
	}
}

func TestRenderTimelineMatchesDesign(t *testing.T) {
	got := renderTimeline(readShowFixture(t, "show_reference.json"), false)
	if diff := cmp.Diff(referenceTimeline, got); diff != "" {
		t.Errorf("timeline differs from DESIGN.md §1 (-want +got):\n%s", diff)
	}
}

func TestRenderTimelineGolden(t *testing.T) {
	tests := []struct {
		fixture string
		color   bool
		golden  string
	}{
		{"show_reference.json", false, "show_reference.golden"},
		{"show_reference.json", true, "show_reference_color.golden"},
		{"show_nested.json", false, "show_nested.golden"},
		{"show_nested.json", true, "show_nested_color.golden"},
	}
	for _, tt := range tests {
		t.Run(tt.golden, func(t *testing.T) {
			got := renderTimeline(readShowFixture(t, tt.fixture), tt.color)
			checkGoldenText(t, tt.golden, got)
			if hasESC := strings.Contains(got, "\x1b"); hasESC != tt.color {
				t.Errorf("output has escape sequences: %v, want %v", hasESC, tt.color)
			}
			if tt.color {
				plain := renderTimeline(readShowFixture(t, tt.fixture), false)
				if stripped := stripANSI(got); stripped != plain {
					t.Errorf("coloured output without its escapes differs from the plain output:\n%s\nvs\n%s", stripped, plain)
				}
			}
		})
	}
}

func TestRenderTimelineColors(t *testing.T) {
	got := renderTimeline(readShowFixture(t, "show_reference.json"), true)
	for _, want := range []string{
		"\x1b[31mDEGRADED\x1b[0m",
		"\x1b[31mERROR\x1b[0m",
		"\x1b[31mINVALID_ARGUMENT\x1b[0m",
		"\x1b[2m├─ \x1b[0m",
		"\x1b[2m│  └─ \x1b[0m",
	} {
		if !strings.Contains(got, want) {
			t.Errorf("coloured timeline lacks %q:\n%s", want, got)
		}
	}
}

// stripANSI removes the SGR escapes the timeline uses.
func stripANSI(s string) string {
	for _, code := range []string{ansiRed, ansiDim, ansiReset} {
		s = strings.ReplaceAll(s, code, "")
	}
	return s
}

func TestColorOutput(t *testing.T) {
	env := func(kv ...string) func(string) string {
		return func(k string) string {
			for i := 0; i+1 < len(kv); i += 2 {
				if kv[i] == k {
					return kv[i+1]
				}
			}
			return ""
		}
	}
	f, err := os.CreateTemp(t.TempDir(), "out")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if colorOutput(f, env()) {
		t.Error("colour on for a regular file, want off")
	}
	if colorOutput(&strings.Builder{}, env()) {
		t.Error("colour on for a non-file writer, want off")
	}
	if tty, err := os.OpenFile("/dev/tty", os.O_WRONLY, 0); err == nil {
		defer tty.Close()
		if !colorOutput(tty, env()) {
			t.Error("colour off for a terminal, want on")
		}
		if colorOutput(tty, env("NO_COLOR", "1")) {
			t.Error("colour on with NO_COLOR set, want off")
		}
	}
}

func TestGroupAndMoney(t *testing.T) {
	for _, tt := range []struct {
		n    int64
		want string
	}{{0, "0"}, {86, "86"}, {1204, "1,204"}, {1234567, "1,234,567"}, {-1204, "-1,204"}} {
		if got := group(tt.n); got != tt.want {
			t.Errorf("group(%d) = %q, want %q", tt.n, got, tt.want)
		}
	}
	for _, tt := range []struct {
		usd  float64
		want string
	}{{0, "$0.0000"}, {0.0021, "$0.0021"}, {1.2345, "$1.23"}, {12.4, "$12.40"}} {
		if got := money(tt.usd); got != tt.want {
			t.Errorf("money(%v) = %q, want %q", tt.usd, got, tt.want)
		}
	}
}
