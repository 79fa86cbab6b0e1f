// Package redacttest holds the seeded corpus of personal data and secrets
// that redaction tests plant in spans (unit tests of internal/redact and the
// end-to-end test of `loupe serve`), and the look-alikes that must survive.
package redacttest

// Seed is one planted value and the rule that must redact it.
type Seed struct {
	Rule  string // the marker's rule: "[REDACTED:" + Rule + "]"
	Value string // the exact value; a stored copy of it is a leak
}

// Seeds returns one or more values of every category redaction covers by
// default. Each value is distinct, so a leak names its seed.
func Seeds() []Seed {
	return []Seed{
		{"email", "jane.doe+vip@example-corp.co.uk"},
		{"email", "r.okafor@mailhost.example"},
		{"phone", "+44 20 7946 0958"},
		{"phone", "+1-415-555-0132"},
		{"phone", "+49 30 9018 2211"},
		{"phone", "+33 1 42 68 53 00"},
		{"phone", "(415) 555-0199"},
		{"card", "4111 1111 1111 1111"},
		{"card", "5500-0055-5555-5559"},
		{"card", "378282246310005"},
		{"ssn", "219-09-9999"},
		{"iban", "DE89 3704 0044 0532 0130 00"},
		{"iban", "GB82WEST12345698765432"},
		{"api_key", "sk-proj-Q4f9a8B7c6d5E4f3a2b1c0d9e8f7a6b5c"},
		{"api_key", "sk-ant-api03-Zq7vX2mN4pL7rT1wY5uI9oE3aS6dF8gH0jK"},
		{"api_key", "sk_live_51HqLyjWDarjtT1zdp7dcQx"},
		{"api_key", "rk_live_51HqLyjWDarjtT1zdp7dcRk"},
		{"api_key", "ghp_16C7e42F292c6912E7710c838347Ae178B4a"},
		{"api_key", "github_pat_11ABCDEFG0aBcDeFgHiJkLmN_OpQrStUvWxYz0123456789aBcDeFgHiJkLmNoPqRsTuVw"},
		{"api_key", "AKIAQ3EGUWVK5EXAMPL7"},
		{"api_key", "AIzaSyD-9tSrke72PouQMnMX-a7eZSW0jkFMBWY"},
		{"api_key", "xoxb-123456789012-1234567890123-AbCdEfGhIjKlMnOpQrStUvWx"},
		{"jwt", "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiJ1XzkxMjMiLCJuYW1lIjoiSmFuZSJ9.q0Z3pXyD8kLmN4vB7cR2sT5wE9aF1gH6jK3lM8nP0oQ"},
		{"bearer", "tok8Fq2Lx9Vb4Nz7Wc1Rd6Ys3"},
		{"secret", "wJalrXUtnFEMI/K7MDENG/bPxRfiCYZQ8xK2mNv4"},
		{"secret", "Zx8vQ2mN4pL7rT1wY5uI9oE3hunter"},
	}
}

// Context returns s planted in a sentence the way it reaches a trace:
// bearer tokens after "Bearer ", secrets assigned to key names.
func Context(s Seed) string {
	switch s.Rule {
	case "bearer":
		return "Authorization: Bearer " + s.Value
	case "secret":
		return `aws_secret_access_key=` + s.Value
	}
	return "my " + s.Rule + " is " + s.Value + ", thanks"
}

// Benign returns values that look like personal data or secrets but are
// not, and must be stored as sent: order ids, timestamps, UUIDs, prices,
// trace and span ids, dates and versions.
func Benign() []string {
	return []string{
		"PA-0024127",
		"ORD-2026-000123",
		"INV-000048213377",
		"2026-06-03T17:04:05.123Z",
		"2026-06-03 17:04:05",
		"1780506245123",
		"550e8400-e29b-41d4-a716-446655440000",
		"$1,234.56",
		"12.99",
		"4bf92f3577b34da6a3ce929d0e0e4736",
		"00f067aa0ba902b7",
		"v1.37.0",
		"gpt-4.1-mini-2025-04-14",
		"prv_2026_06_03_17",
	}
}
