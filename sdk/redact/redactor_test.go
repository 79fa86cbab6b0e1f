package redact_test

import (
	"errors"
	"regexp"
	"strings"
	"testing"

	"github.com/loupehq/loupe/sdk/redact"
)

func TestAttr(t *testing.T) {
	r := mustNew(t, redact.Config{
		Keys: []redact.KeyRule{
			{Key: "http.request.header.authorization", Action: redact.ActionDrop},
			{Key: "http.request.header.*", Action: redact.ActionMask},
			{Key: "*.password", Action: redact.ActionMask},
			{Key: "app.account_ref", Action: redact.ActionHash},
			{Key: "support.ticket.body", Action: redact.ActionKeep},
			{Key: "enduser.id", Action: redact.ActionKeep},
			{Key: "*.trace", Action: redact.ActionDrop},
		},
		HashKeys: []string{"tenant.customer_*"},
	})
	h := r.Hash
	tests := []struct {
		key, value string
		want       string
		drop       bool
		rule       string
	}{
		{"http.request.header.authorization", "Bearer abc123def456ghi", "", true, "key:http.request.header.authorization"},
		{"http.request.header.cookie", "sid=abc", "[REDACTED:key]", false, "key:http.request.header.*"},
		{"db.password", "hunter2", "[REDACTED:key]", false, "key:*.password"},
		{"db.password", "", "", false, ""},
		{"db.password", "[REDACTED:key]", "[REDACTED:key]", false, ""},
		{"app.account_ref", "acct-42", h("acct-42"), false, "key:app.account_ref"},
		{"support.ticket.body", "mail me at a@b.io", "mail me at a@b.io", false, ""},
		{"user.id", "user-9328", h("user-9328"), false, "hash"},
		{"user.id", h("user-9328"), h("user-9328"), false, ""},
		{"account.id", "acct_1", h("acct_1"), false, "hash"},
		{"enduser.id", "user-9328", "user-9328", false, ""},
		{"tenant.customer_id", "c-77", h("c-77"), false, "hash"},
		{"gen_ai.prompt", "mail me at a@b.io", "mail me at [REDACTED:email]", false, "email"},
		{"gen_ai.request.model", "gpt-4o-mini", "gpt-4o-mini", false, ""},
		{"a.b.trace", "x", "", true, "key:*.trace"},
	}
	for _, tt := range tests {
		t.Run(tt.key+"="+tt.value, func(t *testing.T) {
			var c redact.Counts
			got, drop := r.Attr(tt.key, tt.value, &c)
			if got != tt.want || drop != tt.drop {
				t.Errorf("Attr(%q, %q) = %q, %v; want %q, %v", tt.key, tt.value, got, drop, tt.want, tt.drop)
			}
			wantCounts := ""
			if tt.rule != "" {
				wantCounts = tt.rule + ":1"
			}
			if c.String() != wantCounts {
				t.Errorf("Attr(%q, %q) counts = %q, want %q", tt.key, tt.value, c.String(), wantCounts)
			}
			if !drop {
				if again, _ := r.Attr(tt.key, got, nil); again != got {
					t.Errorf("Attr is not idempotent: %q then %q", got, again)
				}
			}
		})
	}
}

func TestAttrFirstRuleWins(t *testing.T) {
	r := mustNew(t, redact.Config{Keys: []redact.KeyRule{
		{Key: "x.*", Action: redact.ActionKeep},
		{Key: "x.secret", Action: redact.ActionDrop},
	}})
	if got, drop := r.Attr("x.secret", "a@b.io", nil); drop || got != "a@b.io" {
		t.Errorf("Attr(x.secret) = %q, %v; want the earlier glob keep rule to win", got, drop)
	}
}

func TestHash(t *testing.T) {
	a := mustNew(t, redact.Config{})
	b, err := redact.New(redact.Config{}, []byte("another-secret"))
	if err != nil {
		t.Fatal(err)
	}
	h1, h2 := a.Hash("user-9328"), a.Hash("user-9328")
	if h1 != h2 {
		t.Errorf("Hash is not stable: %q != %q", h1, h2)
	}
	if !regexp.MustCompile(`^hmac:[0-9a-f]{16}$`).MatchString(h1) {
		t.Errorf("Hash = %q, want hmac:<16 hex>", h1)
	}
	if h1 == a.Hash("user-9329") {
		t.Errorf("different ids hash alike: %q", h1)
	}
	if h1 == b.Hash("user-9328") {
		t.Errorf("different secrets hash alike: %q", h1)
	}
	if d := redact.Default(testSecret); d.Hash("user-9328") != h1 {
		t.Errorf("Default and New with the same secret disagree")
	}
	if a.Hash(h1) != h1 {
		t.Errorf("Hash(Hash(x)) = %q, want %q unchanged", a.Hash(h1), h1)
	}
	if r1, r2 := redact.Default(nil), redact.Default(nil); r1.Hash("x") == r2.Hash("x") {
		t.Errorf("Default(nil) redactors share a key")
	}
}

func TestNewErrors(t *testing.T) {
	tests := []struct {
		name   string
		cfg    redact.Config
		secret []byte
		want   string
	}{
		{"no secret", redact.Config{}, nil, "secret"},
		{"unknown rule", redact.Config{Disable: []redact.Rule{"emails"}}, testSecret, `unknown rule "emails"`},
		{"bad regex", redact.Config{Custom: []redact.CustomRule{{Name: "x", Pattern: "a(b"}}}, testSecret, "bad regex"},
		{"empty match", redact.Config{Custom: []redact.CustomRule{{Name: "x", Pattern: "a*"}}}, testSecret, "empty string"},
		{"bad custom action", redact.Config{Custom: []redact.CustomRule{{Name: "x", Pattern: "a", Action: redact.ActionDrop}}}, testSecret, "unknown action"},
		{"bad name", redact.Config{Custom: []redact.CustomRule{{Name: "a b", Pattern: "a"}}}, testSecret, "name must be"},
		{"duplicate", redact.Config{Custom: []redact.CustomRule{{Name: "a", Pattern: "a"}, {Name: "a", Pattern: "b"}}}, testSecret, "twice"},
		{"bad key action", redact.Config{Keys: []redact.KeyRule{{Key: "a", Action: "erase"}}}, testSecret, "unknown action"},
		{"empty key", redact.Config{Keys: []redact.KeyRule{{Action: redact.ActionDrop}}}, testSecret, "empty key"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r, err := redact.New(tt.cfg, tt.secret)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("New() = %v, %v; want error containing %q", r, err, tt.want)
			}
		})
	}
	if _, err := redact.New(redact.Config{}, nil); !errors.Is(err, redact.ErrNoSecret) {
		t.Errorf("New without secret = %v, want ErrNoSecret", err)
	}
}

func TestParseConfig(t *testing.T) {
	const file = `# rules for project acme
enable ip
disable phone   # too noisy here
custom order_ref mask ORD-[0-9]{4}-[0-9]{6}
custom acct hash acct [0-9]+
key http.request.header.cookie drop
key *.password mask
key user.id keep
hash tenant.customer_id
`
	cfg, err := redact.ParseConfig(strings.NewReader(file))
	if err != nil {
		t.Fatalf("ParseConfig: %v", err)
	}
	if !cfg.EnableIP || len(cfg.Disable) != 1 || cfg.Disable[0] != redact.RulePhone {
		t.Errorf("EnableIP, Disable = %v, %v; want true, [phone]", cfg.EnableIP, cfg.Disable)
	}
	wantCustom := []redact.CustomRule{
		{Name: "order_ref", Action: redact.ActionMask, Pattern: "ORD-[0-9]{4}-[0-9]{6}"},
		{Name: "acct", Action: redact.ActionHash, Pattern: "acct [0-9]+"},
	}
	if len(cfg.Custom) != len(wantCustom) || cfg.Custom[0] != wantCustom[0] || cfg.Custom[1] != wantCustom[1] {
		t.Errorf("Custom = %+v, want %+v", cfg.Custom, wantCustom)
	}
	wantKeys := []redact.KeyRule{
		{Key: "http.request.header.cookie", Action: redact.ActionDrop},
		{Key: "*.password", Action: redact.ActionMask},
		{Key: "user.id", Action: redact.ActionKeep},
	}
	if len(cfg.Keys) != 3 || cfg.Keys[0] != wantKeys[0] || cfg.Keys[1] != wantKeys[1] || cfg.Keys[2] != wantKeys[2] {
		t.Errorf("Keys = %+v, want %+v", cfg.Keys, wantKeys)
	}
	if len(cfg.HashKeys) != 1 || cfg.HashKeys[0] != "tenant.customer_id" {
		t.Errorf("HashKeys = %v, want [tenant.customer_id]", cfg.HashKeys)
	}

	r := mustNew(t, cfg)
	in := "ORD-2026-000123 from 10.1.2.3, call 415-555-0132"
	want := "[REDACTED:custom:order_ref] from [REDACTED:ip], call 415-555-0132"
	if got := r.Text(in, nil); got != want {
		t.Errorf("Text(%q) = %q, want %q", in, got, want)
	}
	if got, _ := r.Attr("user.id", "u-1", nil); got != "u-1" {
		t.Errorf("keep rule on user.id: Attr = %q, want u-1", got)
	}
}

func TestParseConfigErrors(t *testing.T) {
	tests := []struct {
		name  string
		file  string
		lines []int
		want  []string
	}{
		{"bad regex", "# ok\ncustom x mask a(b\n", []int{2}, []string{"line 2", `custom rule "x": bad regex`, "missing closing )"}},
		{"unknown rule", "disable emails\n", []int{1}, []string{"line 1", `unknown rule "emails"`}},
		{"unknown action", "\n\nkey a.b erase\n", []int{3}, []string{"line 3", `unknown action "erase"`}},
		{"unknown custom action", "custom x drop abc\n", []int{1}, []string{"line 1", `unknown action "drop"`}},
		{"unknown directive", "redact everything\n", []int{1}, []string{`unknown directive "redact"`}},
		{"missing args", "custom x mask\nkey a\nhash\n", []int{1, 2, 3}, []string{"line 1", "line 2", "line 3"}},
		{"several", "enable ip\ndisable nope\nkey a keep\ncustom y mask [\n", []int{2, 4}, []string{"line 2", "line 4"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := redact.ParseConfig(strings.NewReader(tt.file))
			if err == nil {
				t.Fatalf("ParseConfig(%q) = nil error, want %v", tt.file, tt.want)
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("ParseConfig(%q) = %q, want it to contain %q", tt.file, err, w)
				}
			}
			var lines []int
			for _, e := range err.(interface{ Unwrap() []error }).Unwrap() {
				var ce *redact.ConfigError
				if !errors.As(e, &ce) {
					t.Fatalf("error %v is not a *ConfigError", e)
				}
				lines = append(lines, ce.Line)
			}
			if len(lines) != len(tt.lines) {
				t.Fatalf("error lines = %v, want %v", lines, tt.lines)
			}
			for i := range lines {
				if lines[i] != tt.lines[i] {
					t.Errorf("error lines = %v, want %v", lines, tt.lines)
				}
			}
		})
	}
}

// TestReloadKeepsRules shows the reload contract: a bad rules file fails
// before a Redactor is built, so the one in force keeps working.
func TestReloadKeepsRules(t *testing.T) {
	current := mustNew(t, redact.Config{})
	reload := func(file string) error {
		cfg, err := redact.ParseConfig(strings.NewReader(file))
		if err != nil {
			return err
		}
		r, err := redact.New(cfg, testSecret)
		if err != nil {
			return err
		}
		current = r
		return nil
	}
	if err := reload("disable email\ncustom bad mask (\n"); err == nil {
		t.Fatal("reload of a bad file succeeded")
	}
	if got := current.Text("a@b.io", nil); got != "[REDACTED:email]" {
		t.Errorf("after a failed reload Text = %q, want the old rules", got)
	}
	if err := reload("disable email\n"); err != nil {
		t.Fatal(err)
	}
	if got := current.Text("a@b.io", nil); got != "a@b.io" {
		t.Errorf("after a good reload Text = %q, want the new rules", got)
	}
}

func TestRules(t *testing.T) {
	want := "email phone card ssn iban api_key jwt bearer secret ip"
	var got []string
	for _, r := range redact.Rules() {
		got = append(got, string(r))
	}
	if strings.Join(got, " ") != want {
		t.Errorf("Rules() = %v, want %s", got, want)
	}
}

func TestConcurrentUse(t *testing.T) {
	r := mustNew(t, redact.Config{Custom: []redact.CustomRule{{Name: "order", Pattern: `ORD-[0-9]{4}-[0-9]{6}`}}})
	want := r.Text(piiText, nil)
	wantHash := r.Hash("user-9328")
	done := make(chan struct{})
	for range 4 {
		go func() {
			defer func() { done <- struct{}{} }()
			for range 50 {
				var c redact.Counts
				if got := r.Text(piiText, &c); got != want {
					t.Errorf("concurrent Text differs")
					return
				}
				if got := r.Hash("user-9328"); got != wantHash {
					t.Errorf("concurrent Hash = %q, want %q", got, wantHash)
					return
				}
			}
		}()
	}
	for range 4 {
		<-done
	}
}
