package redact_test

import (
	"strings"
	"testing"

	"github.com/loupehq/loupe/sdk/redact"
)

var testSecret = []byte("test-secret-0123456789abcdef")

func mustNew(t testing.TB, cfg redact.Config) *redact.Redactor {
	t.Helper()
	r, err := redact.New(cfg, testSecret)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	return r
}

type textCase struct {
	name string
	in   string
	want string
}

func runText(t *testing.T, r *redact.Redactor, tests []textCase) {
	t.Helper()
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var c redact.Counts
			got := r.Text(tt.in, &c)
			if got != tt.want {
				t.Errorf("Text(%q)\n got %q\nwant %q", tt.in, got, tt.want)
			}
			if again := r.Text(got, nil); again != got {
				t.Errorf("Text is not idempotent:\n once  %q\n twice %q", got, again)
			}
			if wantN := strings.Count(tt.want, "[REDACTED:"); c.Total() != wantN {
				t.Errorf("Text(%q) counted %d (%s), want %d", tt.in, c.Total(), c, wantN)
			}
		})
	}
}

func TestTextEmail(t *testing.T) {
	runText(t, mustNew(t, redact.Config{}), []textCase{
		{"plain", "mail john.doe@example.com today", "mail [REDACTED:email] today"},
		{"plus tag", "x jane+billing@mail.example.co.uk.", "x [REDACTED:email]."},
		{"start and end", "a@b.io", "[REDACTED:email]"},
		{"json", `{"email":"ana.garcia@correo.es"}`, `{"email":"[REDACTED:email]"}`},
		{"json escape", `line one\njohn@example.com`, `line one\n[REDACTED:email]`},
		{"two", "a@x.org, b@y.org", "[REDACTED:email], [REDACTED:email]"},
		{"uppercase", "JOHN@EXAMPLE.COM", "[REDACTED:email]"},
		{"no tld", "root@localhost is fine", "root@localhost is fine"},
		{"mention", "ping @john please", "ping @john please"},
		{"decorator", "@Override public", "@Override public"},
		{"retina file", "icon@2x.png", "icon@2x.png"},
		{"numeric tld", "v@1.2", "v@1.2"},
	})
}

func TestTextPhone(t *testing.T) {
	runText(t, mustNew(t, redact.Config{}), []textCase{
		{"uk", "call +44 20 7946 0958 now", "call [REDACTED:phone] now"},
		{"us dashed intl", "+1-415-555-0132", "[REDACTED:phone]"},
		{"us parens", "call (415) 555-0132.", "call [REDACTED:phone]."},
		{"us parens no space", "(415)555-0132", "[REDACTED:phone]"},
		{"us dashed", "my number is 415-555-0132", "my number is [REDACTED:phone]"},
		{"us dotted", "415.555.0132", "[REDACTED:phone]"},
		{"us spaced", "415 555 0132", "[REDACTED:phone]"},
		{"us leading 1", "1-415-555-0132", "[REDACTED:phone]"},
		{"us intl parens", "+1 (415) 555-0132", "[REDACTED:phone]"},
		{"e164", "tel:+14155550132", "tel:[REDACTED:phone]"},
		{"france", "+33 1 23 45 67 89", "[REDACTED:phone]"},
		{"germany", "+49 30 901820", "[REDACTED:phone]"},
		{"japan", "+81 3-1234-5678", "[REDACTED:phone]"},
		{"india", "+91 98765 43210", "[REDACTED:phone]"},
		{"china", "+86 138 0013 8000", "[REDACTED:phone]"},
		{"uk trunk zero", "+44 (0)20 7946 0958", "[REDACTED:phone]"},
		{"uk national", "ring 020 7946 0958", "ring [REDACTED:phone]"},
		{"fr national", "01 23 45 67 89", "[REDACTED:phone]"},
		{"00 prefix", "0044 20 7946 0958", "[REDACTED:phone]"},
		{"zeros", "000-12-3456 and 00 00 00 00 00", "000-12-3456 and 00 00 00 00 00"},
		{"after room number", "room 12 415-555-0132", "room 12 [REDACTED:phone]"},
		{"json", `{"phone":"+44 7700 900123"}`, `{"phone":"[REDACTED:phone]"}`},
		{"after cjk", "电话+86 138 0013 8000", "电话[REDACTED:phone]"},
		{"area code 1xx", "123-555-0132", "123-555-0132"},
		{"plus too short", "+12 345", "+12 345"},
		{"plus too long", "+1234567890123456789", "+1234567890123456789"},
		{"bare digits", "4155550132", "4155550132"},
		{"math", "2+2 = 4", "2+2 = 4"},
		{"date dotted", "03.06.2026", "03.06.2026"},
		{"date and time", "01.02.2026 12:30", "01.02.2026 12:30"},
	})
}

func TestTextCard(t *testing.T) {
	runText(t, mustNew(t, redact.Config{}), []textCase{
		{"visa", "card 4111111111111111 exp", "card [REDACTED:card] exp"},
		{"visa spaced", "4111 1111 1111 1111", "[REDACTED:card]"},
		{"visa dashed", "4111-1111-1111-1111", "[REDACTED:card]"},
		{"mastercard", "5555555555554444", "[REDACTED:card]"},
		{"mastercard 2-series", "2223003122003222", "[REDACTED:card]"},
		{"amex", "378282246310005", "[REDACTED:card]"},
		{"amex grouped", "3782 822463 10005", "[REDACTED:card]"},
		{"discover", "6011111111111117", "[REDACTED:card]"},
		{"jcb", "3530111333300000", "[REDACTED:card]"},
		{"diners", "36227206271667", "[REDACTED:card]"},
		{"unionpay", "6200000000000005", "[REDACTED:card]"},
		{"hash sign", "card #4111 1111 1111 1111", "card #[REDACTED:card]"},
		{"with cvv", "4111 1111 1111 1111 123", "[REDACTED:card] 123"},
		{"two cards", "4111111111111111,5555555555554444", "[REDACTED:card],[REDACTED:card]"},
		{"json escape", `\n4111111111111111`, `\n[REDACTED:card]`},
		{"fails luhn", "4111111111111112", "4111111111111112"},
		{"unknown issuer", "9111111111111111", "9111111111111111"},
		{"unix ms", `{"ts":1748970000000}`, `{"ts":1748970000000}`},
		{"unix ns", "1748970000000000000", "1748970000000000000"},
		{"mixed separators", "4111 1111-1111 1111", "4111 1111-1111 1111"},
		{"inside token", "x4111111111111111", "x4111111111111111"},
	})
}

func TestTextSSN(t *testing.T) {
	runText(t, mustNew(t, redact.Config{}), []textCase{
		{"valid", "ssn 123-45-6789.", "ssn [REDACTED:ssn]."},
		{"json", `"ssn":"078-05-1120"`, `"ssn":"[REDACTED:ssn]"`},
		{"area 000", "000-12-3456", "000-12-3456"},
		{"area 666", "666-12-3456", "666-12-3456"},
		{"area 9xx", "912-34-5678", "912-34-5678"},
		{"group 00", "123-00-4567", "123-00-4567"},
		{"serial 0000", "123-45-0000", "123-45-0000"},
		{"spaces", "123 45 6789", "123 45 6789"},
		{"longer", "123-45-6789-1", "123-45-6789-1"},
	})
}

func TestTextIBAN(t *testing.T) {
	runText(t, mustNew(t, redact.Config{}), []textCase{
		{"de grouped", "IBAN DE89 3704 0044 0532 0130 00 ok", "IBAN [REDACTED:iban] ok"},
		{"gb contiguous", "GB82WEST12345698765432", "[REDACTED:iban]"},
		{"fr", "FR1420041010050500013M02606", "[REDACTED:iban]"},
		{"nl", "NL91ABNA0417164300.", "[REDACTED:iban]."},
		{"bad check", "GB82WEST12345698765433", "GB82WEST12345698765433"},
		{"unknown country", "ZZ82WEST12345698765432", "ZZ82WEST12345698765432"},
		{"too short", "DE89 3704", "DE89 3704"},
	})
}

func TestTextKeys(t *testing.T) {
	r := mustNew(t, redact.Config{})
	runText(t, r, []textCase{
		{"openai", "key sk-proj-4fJ9a8Lm2Qx7Vb1Nc3Zp5Rt6Yw0Hs9Kd", "key [REDACTED:api_key]"},
		{"openai legacy", "sk-abcdefghijklmnopqrstuvwxyz0123456789ABCDEFGHIJKL", "[REDACTED:api_key]"},
		{"anthropic", "sk-ant-api03-AbCdEfGhIjKlMnOpQrStUvWxYz012345-_xyz", "[REDACTED:api_key]"},
		{"stripe secret", "sk_live_51HxYzAbCdEfGhIjKlMn0123", "[REDACTED:api_key]"},
		{"stripe publishable", "pk_test_TYooMQauvdEDq54NiTphI7jx", "[REDACTED:api_key]"},
		{"stripe restricted", "rk_live_51HxYzAbCdEfGhIjKlMn0123", "[REDACTED:api_key]"},
		{"github pat classic", "token ghp_16C7e42F292c6912E7710c838347Ae178B4a here", "token [REDACTED:api_key] here"},
		{"github oauth", "gho_16C7e42F292c6912E7710c838347Ae178B4a", "[REDACTED:api_key]"},
		{"github fine grained", "github_pat_11ABCDEFG0123456789_abcdefghijklmnopqrstuvwxyzABCDEFGHIJ", "[REDACTED:api_key]"},
		{"gitlab", "glpat-xxxxxxxxxxxxxxxxxxxx", "[REDACTED:api_key]"},
		{"aws access key", "AWS AKIAIOSFODNN7EXAMPLE,", "AWS [REDACTED:api_key],"},
		{"aws session key", "ASIAY34FZKBOKMUTVV7A", "[REDACTED:api_key]"},
		{"google", "AIzaSyDaGmWKa4JsXZ-HjGw7ISLn_3namBGewQe", "[REDACTED:api_key]"},
		{"slack bot", "xoxb-2314233423-2132342342-AbCdEfGhIjKlMnOp", "[REDACTED:api_key]"},
		{"slack app", "xapp-1-A0123456789-0123456789", "[REDACTED:api_key]"},
		{"huggingface", "hf_abcdefghijklmnopqrstuvwxyzABCDEFGH", "[REDACTED:api_key]"},
		{"json escaped", `{\"key\":\"sk-proj-4fJ9a8Lm2Qx7Vb1Nc3Zp5Rt6Yw0Hs9Kd\"}`, `{\"key\":\"[REDACTED:api_key]\"}`},
		{"jwt", "token eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.dozjgNryP4J3jVmNHl0w5N_XgL0n3I9PlFUP0THsR8U done",
			"token [REDACTED:jwt] done"},
		{"jwt sentence end", "eyJhbGciOiJub25lIn0.eyJzdWIiOiJ4In0.", "[REDACTED:jwt]"},
		{"bearer", "Authorization: Bearer abc123def456ghi789", "Authorization: Bearer [REDACTED:bearer]"},
		{"bearer jwt", "authorization: bearer eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxIn0.c2ln", "authorization: bearer [REDACTED:bearer]"},
		{"bearer prose", "the bearer of bad news", "the bearer of bad news"},
		{"bearer prose long word", "bearer authentication", "bearer authentication"},
		{"sk prose", "sk-learn and sk-some-long-hyphenated-words-here", "sk-learn and sk-some-long-hyphenated-words-here"},
		{"akia too short", "AKIAIOSFODNN7EXAMPL", "AKIAIOSFODNN7EXAMPL"},
		{"not jwt", "eyJust kidding", "eyJust kidding"},
	})
}

func TestTextSecret(t *testing.T) {
	runText(t, mustNew(t, redact.Config{}), []textCase{
		{"env", "OPENAI_API_KEY=9f8e7d6c5b4a39281706f5e4d3c2b1a0 next", "OPENAI_API_KEY=[REDACTED:secret] next"},
		{"json", `{"client_secret": "Zx8vQ2mN7pL4kR9tW1yB3cD6"}`, `{"client_secret": "[REDACTED:secret]"}`},
		{"header", "X-Api-Key: a1b2c3d4e5f6g7h8i9j0k1l2", "X-Api-Key: [REDACTED:secret]"},
		{"camel", `apiKey: 'Qm9ndXNLZXkxMjM0NTY3ODkw'`, `apiKey: '[REDACTED:secret]'`},
		{"password", `password=Summer2024!x`, `password=[REDACTED:secret]`},
		{"password yaml", "db_password: c0rrect-h0rse", "db_password: [REDACTED:secret]"},
		{"access token", `"access_token":"ya29.a0AfH6SMBx3kLq9ZtR7wPv2Nc"`, `"access_token":"[REDACTED:secret]"`},
		{"escaped json", `{\"api_key\": \"Zx8vQ2mN7pL4kR9tW1yB3cD6\"}`, `{\"api_key\": \"[REDACTED:secret]\"}`},
		{"query string", "GET /v1?access_token=Zx8vQ2mN7pL4kR9tW1yB3cD6&x=1", "GET /v1?access_token=[REDACTED:secret]&x=1"},
		{"provider key wins", "api_key=sk-proj-4fJ9a8Lm2Qx7Vb1Nc3Zp5Rt6Yw0Hs9Kd", "api_key=[REDACTED:api_key]"},
		{"pem", "-----BEGIN RSA PRIVATE KEY-----\nMIIEpAIBAAKCAQEA7\n-----END RSA PRIVATE KEY----- done", "[REDACTED:secret] done"},
		{"pem json", `{"private_key": "-----BEGIN PRIVATE KEY-----\nMIIEvQIBADANBg\n-----END PRIVATE KEY-----\n"}`, `{"private_key": "[REDACTED:secret]\n"}`},
		{"pem public", "-----BEGIN PUBLIC KEY-----\nMIIBIjANBg\n-----END PUBLIC KEY-----", "-----BEGIN PUBLIC KEY-----\nMIIBIjANBg\n-----END PUBLIC KEY-----"},
		{"pem unterminated", "-----BEGIN PRIVATE KEY-----\nMIIEvQ", "-----BEGIN PRIVATE KEY-----\nMIIEvQ"},
		{"low entropy", "password: required", "password: required"},
		{"short", "token=abc123", "token=abc123"},
		{"number", `"max_tokens": 1024, "token": 123456789012345678`, `"max_tokens": 1024, "token": 123456789012345678`},
		{"uuid", `"session_token": "550e8400-e29b-41d4-a716-446655440000"`, `"session_token": "550e8400-e29b-41d4-a716-446655440000"`},
		{"bare key", `{"key":"llm.input_messages.0.message.role"}`, `{"key":"llm.input_messages.0.message.role"}`},
		{"cache key", `cache_key: user:123:profile:v2`, `cache_key: user:123:profile:v2`},
		{"idempotency key", `"idempotency_key": "ORD-2026-000123-a9"`, `"idempotency_key": "ORD-2026-000123-a9"`},
		{"prose", "the key: a good night's sleep", "the key: a good night's sleep"},
		{"monkey", "monkey=Zx8vQ2mN7pL4kR9tW1yB3cD6", "monkey=Zx8vQ2mN7pL4kR9tW1yB3cD6"},
	})
}

func TestTextIP(t *testing.T) {
	on := mustNew(t, redact.Config{EnableIP: true})
	runText(t, on, []textCase{
		{"v4", "from 192.168.1.20 via", "from [REDACTED:ip] via"},
		{"v4 port", "10.0.0.1:8080", "[REDACTED:ip]:8080"},
		{"v6", "addr 2001:db8::8a2e:370:7334 ok", "addr [REDACTED:ip] ok"},
		{"v6 full", "fe80:0000:0000:0000:0202:b3ff:fe1e:8329", "[REDACTED:ip]"},
		{"v4 out of range", "300.1.1.1", "300.1.1.1"},
		{"version", "v1.2.3 and 1.2.3", "v1.2.3 and 1.2.3"},
		{"time", "at 17:00:00 today", "at 17:00:00 today"},
		{"cpp", "std::vector a::b", "std::vector a::b"},
	})
	off := mustNew(t, redact.Config{})
	runText(t, off, []textCase{
		{"off by default", "from 192.168.1.20 via 2001:db8::1", "from 192.168.1.20 via 2001:db8::1"},
	})
}

// TestTextFalsePositives holds ids, dates, prices and numbers that every
// rule must leave alone.
func TestTextFalsePositives(t *testing.T) {
	r := mustNew(t, redact.Config{EnableIP: true})
	for _, in := range []string{
		"550e8400-e29b-41d4-a716-446655440000",
		"trace 4bf92f3577b34da6a3ce929d0e0e4736 span 00f067aa0ba902b7",
		`{"trace_id":"4bf92f3577b34da6a3ce929d0e0e4736","span_id":"00f067aa0ba902b7"}`,
		"2026-06-03T17:00:00Z",
		"2026-06-03T17:00:00.123456+02:00",
		"on 2026-06-03 at 17:00, or 03/06/2026, or 06.03.2026",
		"$12.99, €1,299.00, 1.299,00 kr, 0.0015 USD per 1K tokens",
		"order ORD-2026-000123 and order #483920118 shipped",
		"order id 100000000000001, invoice INV-000123456789",
		"version 1.2.3, v2.10506.0, go1.26.8, Python 3.12.1",
		`{"created":1748970000,"ts_ms":1748970000123,"ts_ns":1748970000123456789}`,
		"counts 1234567890, 12345678901, 123456789012345",
		"ratio 3.14159265358979, -122.4194, 37.7749",
		"sha256 e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
		"model gpt-4o-mini-2024-07-18, claude-sonnet-4-5-20250929",
		`{"input_tokens": 1523, "cache_read_tokens": 1024, "output_tokens": 312}`,
		"Dear team, the refund for order 7731 was approved. Thanks, Support",
		"[REDACTED:email] [REDACTED:card] hmac:0123456789abcdef",
	} {
		t.Run(in, func(t *testing.T) {
			var c redact.Counts
			if got := r.Text(in, &c); got != in {
				t.Errorf("Text(%q) = %q, want unchanged", in, got)
			}
			if c.Total() != 0 {
				t.Errorf("Text(%q) counted %s, want nothing", in, c)
			}
		})
	}
}

func TestTextDisable(t *testing.T) {
	in := "mail a@b.io card 4111111111111111"
	r := mustNew(t, redact.Config{Disable: []redact.Rule{redact.RuleEmail}})
	if got, want := r.Text(in, nil), "mail a@b.io card [REDACTED:card]"; got != want {
		t.Errorf("Text(%q) = %q, want %q", in, got, want)
	}
}

func TestTextCustom(t *testing.T) {
	r := mustNew(t, redact.Config{Custom: []redact.CustomRule{
		{Name: "order", Pattern: `ORD-[0-9]{4}-[0-9]{6}`},
		{Name: "acct", Pattern: `acct_[a-z0-9]{6,}`, Action: redact.ActionHash},
		{Name: "hexy", Pattern: `[0-9a-f]{8,}`},
	}})
	var c redact.Counts
	in := "order ORD-2026-000123 for acct_a1b2c3d4 mail a@b.io"
	got := r.Text(in, &c)
	want := "order [REDACTED:custom:order] for " + r.Hash("acct_a1b2c3d4") + " mail [REDACTED:email]"
	if got != want {
		t.Errorf("Text(%q)\n got %q\nwant %q", in, got, want)
	}
	if again := r.Text(got, nil); again != got {
		t.Errorf("custom rules are not idempotent:\n once  %q\n twice %q", got, again)
	}
	if got, want := c.String(), "email:1,custom:acct:1,custom:order:1"; got != want {
		t.Errorf("counts = %q, want %q", got, want)
	}
}

func TestTextCounts(t *testing.T) {
	r := mustNew(t, redact.Config{})
	var c redact.Counts
	r.Text("a@b.io c@d.io 4111111111111111 +44 20 7946 0958", &c)
	r.Text("e@f.io", &c)
	want := map[string]int{"email": 3, "card": 1, "phone": 1}
	got := c.Map()
	if len(got) != len(want) {
		t.Fatalf("Map() = %v, want %v", got, want)
	}
	for k, v := range want {
		if got[k] != v {
			t.Errorf("Map()[%q] = %d, want %d", k, got[k], v)
		}
	}
	if c.Total() != 5 || c.Count(redact.RuleEmail) != 3 {
		t.Errorf("Total() = %d, Count(email) = %d, want 5, 3", c.Total(), c.Count(redact.RuleEmail))
	}
	if got, want := c.String(), "email:3,phone:1,card:1"; got != want {
		t.Errorf("String() = %q, want %q", got, want)
	}
	var sum redact.Counts
	sum.Add(c)
	sum.Add(c)
	if sum.Total() != 10 {
		t.Errorf("after adding twice Total() = %d, want 10", sum.Total())
	}
	// A nil *Counts is allowed.
	if got := r.Text("a@b.io", nil); got != "[REDACTED:email]" {
		t.Errorf("Text with nil counts = %q", got)
	}
}

func TestTextNoAlloc(t *testing.T) {
	r := mustNew(t, redact.Config{EnableIP: true})
	in := strings.Repeat(cleanText, 4)
	n := testing.AllocsPerRun(100, func() {
		if out := r.Text(in, nil); len(out) != len(in) {
			t.Fatal("clean text changed")
		}
	})
	if n != 0 {
		t.Errorf("Text on clean text allocates %v times, want 0", n)
	}
	var c redact.Counts
	n = testing.AllocsPerRun(100, func() { r.Text(piiText, &c) })
	if n > 1 {
		t.Errorf("Text on text with PII allocates %v times, want at most 1", n)
	}
}
