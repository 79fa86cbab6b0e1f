package sample_test

import (
	"bytes"
	"errors"
	"strings"
	"testing"

	"github.com/loupehq/loupe"
	"github.com/loupehq/loupe/internal/sample"
)

// FuzzParsePolicy checks that any policy file either parses or fails with
// a *PolicyError (ErrInvalid) whose line is within the file; never a
// panic.
func FuzzParsePolicy(f *testing.F) {
	for _, s := range []string{
		"",
		"version: 1\nrules:\n  - {name: errors, when: error}\n  - {name: normal, when: always, rate: 0.1, metadata: 0.1}\n",
		"version: 1\nrules:\n  - name: slow\n    when: slow\n    threshold: 10s\n    rate: 0.5\n",
		"version: 1\nrules:\n  - {name: x, when: sometimes}\n",
		"version: 1\nrules: [",
		"rules:\n  - {name: x, when: always}\n",
		"version: 1\nrules:\n  - name: errors\n    when: error\n    colour: red\n",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, src []byte) {
		p, err := sample.ParsePolicy("p.yaml", bytes.NewReader(src))
		if err == nil {
			if p == nil {
				t.Fatal("ParsePolicy = nil, nil")
			}
			return
		}
		var pe *sample.PolicyError
		if !errors.As(err, &pe) || !errors.Is(err, loupe.ErrInvalid) {
			t.Fatalf("ParsePolicy error %v is not a *PolicyError wrapping ErrInvalid", err)
		}
		// YAML breaks lines at \n, \r\n and a lone \r.
		text := strings.ReplaceAll(string(src), "\r\n", "\n")
		if lines := strings.Count(text, "\n") + strings.Count(text, "\r") + 1; pe.Line < 0 || pe.Line > lines {
			t.Fatalf("error line %d outside the %d-line file: %v", pe.Line, lines, err)
		}
	})
}
