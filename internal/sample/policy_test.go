package sample_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/loupehq/loupe"
	"github.com/loupehq/loupe/internal/sample"
)

func TestParsePolicy(t *testing.T) {
	tests := []struct {
		name     string
		yaml     string
		wantLine int
		wantErr  string // "" for a valid file
	}{
		{"OK", "version: 1\nrules:\n  - {name: errors, when: error}\n  - {name: slow, when: slow, threshold: 10s, rate: 0.5}\n  - {name: normal, when: always, rate: 0.1, metadata: 0.1}\n", 0, ""},
		{"UnknownField", "version: 1\nrules:\n  - name: errors\n    when: error\n    colour: red\n", 5, "colour"},
		{"BadRate", "version: 1\nrules:\n  - {name: errors, when: error}\n  - {name: normal, when: always, rate: 1.5}\n", 4, "rate 1.5"},
		{"RatesOverOne", "version: 1\nrules:\n  - {name: normal, when: always, rate: 0.6, metadata: 0.6}\n", 3, "metadata"},
		{"UnknownWhen", "version: 1\nrules:\n  - {name: x, when: sometimes}\n", 3, `unknown when "sometimes"`},
		{"SlowWithoutThreshold", "version: 1\nrules:\n  - {name: slow, when: slow}\n", 3, "threshold"},
		{"BadDuration", "version: 1\nrules:\n  - {name: slow, when: slow, threshold: soon}\n", 3, "duration"},
		{"NoVersion", "rules:\n  - {name: x, when: always}\n", 1, "version"},
		{"Empty", "", 0, "empty"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, err := sample.ParsePolicy("p.yaml", strings.NewReader(tt.yaml))
			if tt.wantErr == "" {
				if err != nil || p.Name != "p.yaml" {
					t.Fatalf("ParsePolicy = %v, %v; want the policy", p, err)
				}
				return
			}
			var pe *sample.PolicyError
			if !errors.As(err, &pe) || !errors.Is(err, loupe.ErrInvalid) || pe.Line != tt.wantLine || !strings.Contains(err.Error(), tt.wantErr) {
				t.Fatalf("ParsePolicy = %v, want a PolicyError at line %d containing %q", err, tt.wantLine, tt.wantErr)
			}
		})
	}
}
