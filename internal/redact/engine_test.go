package redact_test

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/loupehq/loupe"
	"github.com/loupehq/loupe/internal/redact"
	"github.com/loupehq/loupe/internal/redact/redacttest"
)

var secret = []byte("test-secret-0123456789")

func mustOpen(t testing.TB, file string) *redact.Engine {
	t.Helper()
	e, err := redact.Open(redact.Options{Secret: secret, File: file})
	if err != nil {
		t.Fatal(err)
	}
	return e
}

// plantedSpan returns a span carrying v in every place a span holds text.
func plantedSpan(project, v string) loupe.Span {
	esc, _ := json.Marshal(map[string]string{"content": v}) // JSON inside a string
	esc2, _ := json.Marshal(string(esc))                    // and once more
	return loupe.Span{
		Project:       project,
		Name:          "lookup " + v,
		StatusMessage: "refund failed for " + v,
		ErrorType:     "ERR " + v,
		Route:         "/users/" + v,
		SessionID:     "sess " + v,
		Tenant:        "tenant " + v,
		Attributes: map[string]any{
			"app.note":           "note: " + v,
			"resource.host.note": v,
			"app.list":           []any{"a", "x " + v, int64(3)},
			"app.map":            map[string]any{"inner": "y " + v, "deep": map[string]any{"k": v}},
			"gen_ai.input.json":  `[{"role":"user","content":` + string(esc) + `}]`,
			"app.double":         string(esc2),
		},
		Params: loupe.Params{StopSequences: []string{v}},
		Payload: &loupe.Payload{
			Input: []loupe.Message{
				{Role: "user", Content: "hello, " + v},
				{Role: "user", Parts: []map[string]any{{"type": "text", "content": "part " + v}}},
			},
			Output: []loupe.Message{{Role: "assistant", ToolCalls: []loupe.ToolCall{
				{ID: "call_1", Name: "create_refund", Arguments: string(esc)},
			}}},
			ToolArguments: string(esc),
			ToolResult:    `{"result":"` + v + `"}`,
			Query:         "query " + v,
			InputValue:    "in " + v,
			OutputValue:   "out " + v,
			Documents:     []loupe.DocumentText{{ID: "doc_1", Content: "snippet " + v, Metadata: `{"m":"` + v + `"}`}},
			Events: []loupe.Event{{
				Name:       "exception",
				Body:       map[string]any{"content": "body " + v, "list": []any{v}},
				Attributes: map[string]any{"exception.message": "boom " + v},
			}},
		},
	}
}

// leaks returns the forms of v found in s: v itself, JSON-escaped, lower case.
func leaks(s, v string) []string {
	var found []string
	q, _ := json.Marshal(v)
	for _, form := range []string{v, strings.Trim(string(q), `"`), strings.ToLower(v)} {
		if strings.Contains(s, form) || strings.Contains(strings.ToLower(s), strings.ToLower(form)) {
			found = append(found, form)
		}
	}
	return found
}

func TestBatchRedactsEverywhere(t *testing.T) {
	e := mustOpen(t, "")
	for _, seed := range redacttest.Seeds() {
		t.Run(seed.Rule+"/"+seed.Value[:6], func(t *testing.T) {
			v := redacttest.Context(seed)
			b := loupe.Batch{
				Spans: []loupe.Span{plantedSpan(loupe.DefaultProject, v)},
				Events: []loupe.SpanEvent{{Project: loupe.DefaultProject, Event: loupe.Event{
					Name: "gen_ai.user.message", Body: map[string]any{"content": v}, Attributes: map[string]any{"x": v}}}},
			}
			before, _ := json.Marshal(b)
			if len(leaks(string(before), seed.Value)) == 0 { // positive control of the leak check
				t.Fatalf("leak check does not find %q in the unredacted batch", seed.Value)
			}
			e.Batch(&b)
			after, _ := json.Marshal(b)
			if l := leaks(string(after), seed.Value); len(l) > 0 {
				t.Fatalf("after Batch, %q still present (forms %q):\n%s", seed.Value, l, after)
			}
			mark := "[REDACTED:" + seed.Rule + "]"
			s := b.Spans[0]
			for name, got := range map[string]string{
				"name": s.Name, "status message": s.StatusMessage, "attribute": s.Attributes["app.note"].(string),
				"resource attribute": s.Attributes["resource.host.note"].(string),
				"message":            s.Payload.Input[0].Content, "tool arguments": s.Payload.ToolArguments,
				"snippet": s.Payload.Documents[0].Content, "nested JSON": s.Attributes["gen_ai.input.json"].(string),
				"log body": b.Events[0].Event.Body.(map[string]any)["content"].(string),
			} {
				if !strings.Contains(got, mark) {
					t.Errorf("%s = %q, want the marker %s", name, got, mark)
				}
			}
			if n, _ := s.Attributes[redact.AttrCount].(int64); n < 20 {
				t.Errorf("%s = %v, want >= 20", redact.AttrCount, s.Attributes[redact.AttrCount])
			}
			if r, _ := s.Attributes[redact.AttrRules].(string); !strings.Contains(r, seed.Rule+":") {
				t.Errorf("%s = %q, want it to count %s", redact.AttrRules, r, seed.Rule)
			}
			if n, _ := b.Events[0].Event.Attributes[redact.AttrCount].(int64); n != 2 {
				t.Errorf("event %s = %v, want 2", redact.AttrCount, b.Events[0].Event.Attributes[redact.AttrCount])
			}
			// Valid JSON stays valid JSON.
			for name, js := range map[string]string{"tool arguments": s.Payload.ToolArguments, "nested": s.Attributes["gen_ai.input.json"].(string)} {
				if !json.Valid([]byte(js)) {
					t.Errorf("%s %q is no longer valid JSON", name, js)
				}
			}
		})
	}
}

func TestBatchKeepsLookAlikes(t *testing.T) {
	e := mustOpen(t, "")
	for _, v := range redacttest.Benign() {
		t.Run(v, func(t *testing.T) {
			b := loupe.Batch{Spans: []loupe.Span{plantedSpan(loupe.DefaultProject, v)}}
			want, _ := json.Marshal(b)
			e.Batch(&b)
			got, _ := json.Marshal(b)
			if string(got) != string(want) {
				t.Fatalf("Batch changed a span holding only %q:\n got %s\nwant %s", v, got, want)
			}
		})
	}
}

func TestUserIDHashed(t *testing.T) {
	e := mustOpen(t, "")
	b1 := loupe.Batch{Spans: []loupe.Span{{UserID: "user-42", Attributes: map[string]any{"user.id": "user-42", "account.id": int64(7)}}}}
	b2 := loupe.Batch{Spans: []loupe.Span{{UserID: "user-42"}}}
	e.Batch(&b1)
	e.Batch(&b2)
	s1, s2 := b1.Spans[0], b2.Spans[0]
	if !strings.HasPrefix(s1.UserID, "hmac:") || s1.UserID != s2.UserID {
		t.Errorf("UserID = %q and %q, want one hmac: value (joinable)", s1.UserID, s2.UserID)
	}
	if s1.Attributes["user.id"] != s1.UserID {
		t.Errorf("user.id attribute = %v, want %q", s1.Attributes["user.id"], s1.UserID)
	}
	if a, _ := s1.Attributes["account.id"].(string); !strings.HasPrefix(a, "hmac:") {
		t.Errorf("int account.id = %v, want hashed", s1.Attributes["account.id"])
	}
	other, err := redact.Open(redact.Options{Secret: []byte("another-secret-9876543210")})
	if err != nil {
		t.Fatal(err)
	}
	s3 := loupe.Span{UserID: "user-42"}
	other.Span(&s3)
	if s3.UserID == s1.UserID {
		t.Errorf("two secrets hash user-42 to the same %q", s3.UserID)
	}
}

func TestCountsMergeWithSDK(t *testing.T) {
	e := mustOpen(t, "")
	s := loupe.Span{Name: "a@b.example", Attributes: map[string]any{
		redact.AttrCount: int64(3), redact.AttrRules: "email:1,phone:2"}}
	e.Span(&s)
	if got := s.Attributes[redact.AttrCount]; got != int64(4) {
		t.Errorf("count = %v, want 4", got)
	}
	if got := s.Attributes[redact.AttrRules]; got != "email:2,phone:2" {
		t.Errorf("rules = %q, want email:2,phone:2", got)
	}
}

func TestProjectRules(t *testing.T) {
	src := `# base
disable phone
key app.secret_note drop
[project acme]
enable phone
enable ip
custom order_ref mask ORD-[0-9]{4}-[0-9]{6}
key user.id keep
`
	file := filepath.Join(t.TempDir(), "rules")
	if err := os.WriteFile(file, []byte(src), 0o600); err != nil {
		t.Fatal(err)
	}
	e := mustOpen(t, file)
	text := "call +44 20 7946 0958 about ORD-2026-000123 from 203.0.113.7"
	tests := []struct {
		project, want, user string
	}{
		{"default", text, "hmac:"},
		{"other", text, "hmac:"},
		{"acme", "call [REDACTED:phone] about [REDACTED:custom:order_ref] from [REDACTED:ip]", "user-42"},
	}
	for _, tt := range tests {
		t.Run(tt.project, func(t *testing.T) {
			s := loupe.Span{Project: tt.project, Name: text, UserID: "user-42",
				Attributes: map[string]any{"app.secret_note": "x"}}
			e.Span(&s)
			if s.Name != tt.want {
				t.Errorf("Name = %q, want %q", s.Name, tt.want)
			}
			if !strings.HasPrefix(s.UserID, tt.user) {
				t.Errorf("UserID = %q, want prefix %q", s.UserID, tt.user)
			}
			if _, ok := s.Attributes["app.secret_note"]; ok {
				t.Errorf("app.secret_note kept, want dropped by the base key rule")
			}
		})
	}
}

func TestReloadKeepsRulesOnError(t *testing.T) {
	file := filepath.Join(t.TempDir(), "rules")
	write := func(s string) {
		if err := os.WriteFile(file, []byte(s), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	write("disable email\n")
	e := mustOpen(t, file)
	check := func(wantEmail bool) {
		t.Helper()
		s := loupe.Span{Project: "default", Name: "x a@b.example"}
		e.Span(&s)
		if got := strings.Contains(s.Name, "a@b.example"); got != wantEmail {
			t.Fatalf("email kept = %v, want %v (%q)", got, wantEmail, s.Name)
		}
	}
	check(true)
	write("enable email\ncustom bad mask ([a-z]\n")
	err := e.Reload()
	var re *redact.RulesError
	if err == nil || !errors.As(err, &re) || fmt.Sprint(re.Lines()) != "[2]" || !strings.Contains(err.Error(), "bad regex") {
		t.Fatalf("Reload of a bad file = %v, want a RulesError at line 2 naming the bad regex", err)
	}
	check(true) // the previous rules stay
	write("enable email\n")
	if err := e.Reload(); err != nil {
		t.Fatal(err)
	}
	check(false)

	// SetProject: a bad body is refused, the rules stay, and the file is untouched.
	err = e.SetProject("default", []byte("disable email\nfrobnicate\n"))
	if err == nil || !errors.As(err, &re) || fmt.Sprint(re.Lines()) != "[2]" {
		t.Fatalf("SetProject(bad) = %v, want a RulesError at line 2", err)
	}
	check(false)
	if err := e.SetProject("default", []byte("disable email\n")); err != nil {
		t.Fatal(err)
	}
	check(true)
	saved, _ := os.ReadFile(file)
	if want := "enable email\n[project default]\ndisable email\n"; string(saved) != want {
		t.Errorf("rules file after SetProject = %q, want %q", saved, want)
	}
	if err := e.Reload(); err != nil { // the saved file reads back to the same rules
		t.Fatal(err)
	}
	check(true)
}

func TestConcurrentBatchAndReload(t *testing.T) {
	e := mustOpen(t, "")
	var wg sync.WaitGroup
	for range 4 {
		wg.Go(func() {
			for range 200 {
				b := loupe.Batch{Spans: []loupe.Span{plantedSpan("default", "a@b.example")}}
				e.Batch(&b)
				if strings.Contains(b.Spans[0].Name, "a@b.example") {
					t.Error("email leaked during reloads")
					return
				}
			}
		})
	}
	wg.Go(func() {
		for i := range 50 {
			if err := e.SetProject("p", fmt.Appendf(nil, "custom r%d mask x%dy\n", i, i)); err != nil {
				t.Error(err)
				return
			}
		}
	})
	wg.Wait()
}

func TestNoAllocsWhenNothingMatches(t *testing.T) {
	if raceEnabled {
		t.Skip("the race detector makes sync.Pool drop items at random")
	}
	e := mustOpen(t, "")
	s := plantedSpan("default", "nothing to see")
	s.Payload.Input[0].Content = strings.Repeat("a long system prompt that repeats in every span. ", 20) // clean-text cache path
	b := loupe.Batch{Spans: []loupe.Span{s}}
	e.Batch(&b) // warm up
	if n := testing.AllocsPerRun(100, func() { e.Batch(&b) }); n != 0 {
		t.Errorf("Batch of a clean span allocates %v times, want 0", n)
	}
}

func TestCleanCacheFollowsRules(t *testing.T) {
	e := mustOpen(t, "")
	long := strings.Repeat("policy text without personal data. ", 10) + "see ORD-2026-000123"
	redactName := func() string {
		b := loupe.Batch{Spans: []loupe.Span{{Project: "default", Name: long}}}
		e.Batch(&b)
		return b.Spans[0].Name
	}
	for range 2 { // the second pass is served by the clean-text cache
		if got := redactName(); got != long {
			t.Fatalf("clean long text changed: %q", got)
		}
	}
	if err := e.SetProject("default", []byte("custom order mask ORD-[0-9]{4}-[0-9]{6}\n")); err != nil {
		t.Fatal(err)
	}
	if got := redactName(); !strings.HasSuffix(got, "see [REDACTED:custom:order]") {
		t.Errorf("after a rule change, cached text = %q, want the new rule applied", got)
	}
	// Same length, one byte apart, with an email: never served from the cache.
	dirty := strings.Repeat("policy text without personal data. ", 10) + "see a@b.example.co"
	b := loupe.Batch{Spans: []loupe.Span{{Project: "other", Name: long}, {Project: "other", Name: dirty}}}
	e.Batch(&b)
	if b.Spans[1].Name == dirty {
		t.Errorf("text with an email next to a cached clean text was not redacted")
	}
}
