package redact_test

import (
	"strings"
	"testing"

	"github.com/loupehq/loupe/sdk/redact"
)

// seededSecrets are values that must never survive redaction when they stand
// alone between spaces.
var seededSecrets = []string{
	"john.doe@example.com",
	"4111111111111111",
	"+44 20 7946 0958",
	"123-45-6789",
	"DE89370400440532013000",
	"sk-proj-4fJ9a8Lm2Qx7Vb1Nc3Zp5Rt6Yw0Hs9Kd",
	"AKIAIOSFODNN7EXAMPLE",
	"ghp_16C7e42F292c6912E7710c838347Ae178B4a",
	"eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxIn0.c2lnbmF0dXJl",
}

// FuzzText checks that Text never panics, is idempotent, counts every
// marker it writes, and removes a known secret placed between spaces in any
// surrounding text.
func FuzzText(f *testing.F) {
	for _, s := range []string{
		"", "a@b.io", "+1 (415) 555-0132", "4111 1111 1111 1111 123", "DE89 3704 0044 0532 0130 00",
		"Bearer abc123def456ghi789", `{"api_key":"Zx8vQ2mN7pL4kR9tW1yB3cD6"}`, `\n\\"x@y.org\"`,
		"2026-06-03T17:00:00Z ORD-2026-000123", "2001:db8::1 10.0.0.1", "[REDACTED:email]@x.com",
		cleanText[:300], piiText[:300], "-----BEGIN EC PRIVATE KEY-----\\nMHcC\\n-----END EC PRIVATE KEY-----",
	} {
		f.Add(s, uint8(0))
	}
	r := mustNew(f, redact.Config{EnableIP: true, Custom: []redact.CustomRule{
		{Name: "order", Pattern: `ORD-[0-9]{4}-[0-9]{6}`},
		{Name: "acct", Pattern: `acct_[a-z0-9]{4,}`, Action: redact.ActionHash},
	}})
	f.Fuzz(func(t *testing.T, s string, pick uint8) {
		var c redact.Counts
		once := r.Text(s, &c)
		if twice := r.Text(once, nil); twice != once {
			t.Fatalf("not idempotent:\n in    %q\n once  %q\n twice %q", s, once, twice)
		}
		if once == s && c.Total() != 0 {
			t.Fatalf("Text(%q) changed nothing but counted %s", s, c)
		}
		if marks := strings.Count(once, "[REDACTED:") - strings.Count(s, "[REDACTED:"); marks > c.Total() {
			t.Fatalf("Text(%q) = %q: %d new markers, %d counted", s, once, marks, c.Total())
		}
		secret := seededSecrets[int(pick)%len(seededSecrets)]
		in := s + " " + secret + " " + s
		// s may hold lookalikes ("DE89...0000") that rightly survive, so
		// require only that the seeded copy is gone.
		if out := r.Text(in, nil); strings.Count(out, secret) >= strings.Count(in, secret) {
			t.Fatalf("secret survived:\n in  %q\n out %q", in, out)
		}
	})
}
