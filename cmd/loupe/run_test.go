package main

import (
	"bytes"
	"strings"
	"testing"
)

func TestRun(t *testing.T) {
	tests := []struct {
		name       string
		args       []string
		wantCode   int
		wantStdout string // substring; "" = must be empty
		wantStderr string // substring; "" = must be empty
	}{
		{name: "Help", args: []string{"help"}, wantCode: 0, wantStdout: "loupe <command> [flags]"},
		{name: "DashHelp", args: []string{"--help"}, wantCode: 0, wantStdout: "serve"},
		{name: "Version", args: []string{"version"}, wantCode: 0, wantStdout: "loupe "},
		{name: "VersionArgs", args: []string{"version", "x"}, wantCode: 2, wantStderr: "Try: loupe version"},
		{name: "NoCommand", args: nil, wantCode: 2, wantStderr: "Try: loupe serve"},
		{name: "UnknownCommand", args: []string{"frobnicate"}, wantCode: 2, wantStderr: "loupe: unknown command \"frobnicate\"\nTry: loupe help\n"},
		{name: "ServeBadFlag", args: []string{"serve", "--nope"}, wantCode: 2, wantStderr: "Try: loupe serve -h"},
		{name: "ServeHelp", args: []string{"serve", "-h"}, wantCode: 0, wantStderr: "Usage: loupe serve"},
		{name: "ServeBadPrices", args: []string{"serve", "--decode-only", "--addr", "127.0.0.1:0", "--grpc-addr", "127.0.0.1:0", "--prices", "/nonexistent/prices.json"},
			wantCode: 1, wantStderr: "--prices"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			err := run(t.Context(), tt.args, func(string) string { return "" }, strings.NewReader(""), &stdout, &stderr)
			if got := code(err); got != tt.wantCode {
				t.Errorf("code(run(%q)) = %d (err %v), want %d", tt.args, got, err, tt.wantCode)
			}
			check := func(name, got, want string) {
				t.Helper()
				if want == "" && got != "" {
					t.Errorf("run(%q) %s = %q, want empty", tt.args, name, got)
				}
				if !strings.Contains(got, want) {
					t.Errorf("run(%q) %s = %q, want it to contain %q", tt.args, name, got, want)
				}
			}
			check("stdout", stdout.String(), tt.wantStdout)
			check("stderr", stderr.String(), tt.wantStderr)
		})
	}
}

func TestVersion(t *testing.T) {
	// Test binaries carry no module version, so this is the source-tree form.
	if got := version(); !strings.HasPrefix(got, "devel") {
		t.Errorf("version() = %q, want a devel version in a test binary", got)
	}
}
