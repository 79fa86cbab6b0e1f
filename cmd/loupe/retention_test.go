package main

import (
	"bytes"
	"context"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/loupehq/loupe/internal/duckdb"
)

const day = 24 * time.Hour

func TestParseRetention(t *testing.T) {
	base := duckdb.DefaultRetention()
	tests := []struct {
		name    string
		yaml    string
		want    *duckdb.RetentionPolicy
		wantErr string // substring; "" = no error
	}{
		{name: "Empty", yaml: "", want: &duckdb.RetentionPolicy{Default: base}},
		{
			name: "DefaultAndProjects",
			yaml: "default:\n  payloads: 3d\n  metadata: 30d\nprojects:\n  acme:\n    payloads: 12h\n  audit:\n    metadata: 0\n",
			want: &duckdb.RetentionPolicy{
				Default: duckdb.Retention{Payloads: 3 * day, ErrorPayloads: 30 * day, Metadata: 30 * day},
				Projects: map[string]duckdb.Retention{
					"acme":  {Payloads: 12 * time.Hour, ErrorPayloads: 30 * day, Metadata: 30 * day},
					"audit": {Payloads: 3 * day, ErrorPayloads: 30 * day, Metadata: 0},
				},
			},
		},
		{name: "UnknownKey", yaml: "default:\n  payload: 3d\n", wantErr: "line 2"},
		{name: "BadDuration", yaml: "default:\n  payloads: 3d\nprojects:\n  a:\n    errors: soon\n", wantErr: "line 5"},
		{name: "NotAScalar", yaml: "default:\n  metadata: [1]\n", wantErr: "line 2"},
		{name: "Negative", yaml: "default:\n  metadata: -1h\n", wantErr: "negative"},
		{name: "NotYAML", yaml: "default: [\n", wantErr: "line"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := parseRetention([]byte(tt.yaml), base)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("parseRetention() = %v, want error containing %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatalf("parseRetention() = %v", err)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("parseRetention() mismatch (-want +got):\n%s", diff)
			}
		})
	}
}

func TestRetentionFlags(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "retention.yaml")
	if err := os.WriteFile(file, []byte("projects:\n  acme:\n    payloads: 1d\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		args []string
		env  map[string]string
		want *duckdb.RetentionPolicy
	}{
		{name: "Defaults", want: &duckdb.RetentionPolicy{Default: duckdb.DefaultRetention()}},
		{
			name: "FlagsAndEnv",
			args: []string{"--retention-payloads", "2d", "--retention-metadata", "0"},
			env:  map[string]string{"LOUPE_RETENTION_ERRORS": "1w", "LOUPE_RETENTION_PAYLOADS": "5d"},
			want: &duckdb.RetentionPolicy{Default: duckdb.Retention{Payloads: 2 * day, ErrorPayloads: 7 * day, Metadata: 0}},
		},
		{
			name: "FileOverFlags",
			args: []string{"--retention", file, "--retention-payloads", "2d"},
			want: &duckdb.RetentionPolicy{
				Default:  duckdb.Retention{Payloads: 2 * day, ErrorPayloads: 30 * day, Metadata: 90 * day},
				Projects: map[string]duckdb.Retention{"acme": {Payloads: day, ErrorPayloads: 30 * day, Metadata: 90 * day}},
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var stderr bytes.Buffer
			cfg, err := parseServeConfig(tt.args, func(k string) string { return tt.env[k] }, &stderr)
			if err != nil {
				t.Fatalf("parseServeConfig() = %v", err)
			}
			got, err := cfg.Retention.policy()
			if err != nil {
				t.Fatalf("policy() = %v", err)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("policy() mismatch (-want +got):\n%s", diff)
			}
		})
	}
	t.Run("BadFlag", func(t *testing.T) {
		var stderr bytes.Buffer
		if _, err := parseServeConfig([]string{"--retention-payloads", "a week"}, func(string) string { return "" }, &stderr); err == nil {
			t.Error("parseServeConfig(--retention-payloads 'a week') = nil, want an error")
		}
	})
}

// TestServeRefusesBadRetentionFile checks that serve stops before
// listening when the --retention file is invalid, naming the line.
func TestServeRefusesBadRetentionFile(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "retention.yaml")
	if err := os.WriteFile(file, []byte("default:\n  payloads: 7d\n  metadata: someday\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	cfg := defaultServeConfig()
	cfg.Addr, cfg.GRPCAddr, cfg.Data = "127.0.0.1:0", "127.0.0.1:0", filepath.Join(dir, "data")
	cfg.Retention.File = file
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	defer cancel()
	err := serve(ctx, cfg, slog.New(slog.DiscardHandler))
	if err == nil || !strings.Contains(err.Error(), "line 3") {
		t.Fatalf("serve(bad retention file) = %v, want an error naming line 3", err)
	}
	if _, serr := os.Stat(cfg.Data); !os.IsNotExist(serr) {
		t.Errorf("serve created the data directory before refusing: %v", serr)
	}
}

func FuzzParseRetention(f *testing.F) {
	f.Add([]byte("default:\n  payloads: 7d\nprojects:\n  a:\n    metadata: 0\n"))
	f.Add([]byte("projects:\n  x: {errors: 1w2d}\n"))
	f.Add([]byte("default: [\n"))
	f.Fuzz(func(t *testing.T, b []byte) {
		p, err := parseRetention(b, duckdb.DefaultRetention())
		if err != nil {
			return
		}
		if err := p.Validate(); err != nil {
			t.Fatalf("parseRetention(%q) accepted a policy that does not validate: %v", b, err)
		}
	})
}
