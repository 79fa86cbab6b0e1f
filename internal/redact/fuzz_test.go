package redact_test

import (
	"bytes"
	"errors"
	"testing"

	"github.com/loupehq/loupe/internal/redact"
)

// FuzzParseRules checks that any rules file either parses, and then reads
// back from its Source to the same Source, or fails with a *RulesError
// whose line numbers are within the file; never a panic.
func FuzzParseRules(f *testing.F) {
	for _, s := range []string{
		"",
		"disable phone\nenable ip\n",
		"# c\ncustom order mask ORD-[0-9]{4}\nkey user.* hash\nhash tenant.id\n",
		"[project acme]\nenable ip\n[project b]\nkey x drop\n",
		"[project a]\n[project a]\n",
		"custom x mask (\n",
		"[project\n",
		"key a keep\r\n[project x.y-z_1]\r\ndisable email\r\n",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, src []byte) {
		r, err := redact.ParseRules(src)
		if err != nil {
			var re *redact.RulesError
			if !errors.As(err, &re) {
				t.Fatalf("ParseRules error %v is not a *RulesError", err)
			}
			lines := bytes.Count(src, []byte("\n")) + 1
			for _, l := range re.Lines() {
				if l < 0 || l > lines {
					t.Fatalf("error line %d outside the %d-line file: %v", l, lines, err)
				}
			}
			return
		}
		again, err := redact.ParseRules(r.Source())
		if err != nil {
			t.Fatalf("Source() %q does not parse: %v", r.Source(), err)
		}
		if !bytes.Equal(again.Source(), r.Source()) {
			t.Fatalf("Source round trip: %q then %q", r.Source(), again.Source())
		}
	})
}
