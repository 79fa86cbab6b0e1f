package main

import (
	"bytes"
	"errors"
	"flag"
	"io"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

func TestParseServeConfig(t *testing.T) {
	def := defaultServeConfig()
	with := func(f func(c *serveConfig)) serveConfig {
		c := def
		f(&c)
		return c
	}
	tests := []struct {
		name    string
		args    []string
		env     map[string]string
		want    serveConfig
		wantErr string // substring of the error; "" = no error
	}{
		{name: "Defaults", want: def},
		{
			name: "EnvOverridesDefaults",
			env: map[string]string{
				"LOUPE_ADDR": "127.0.0.1:9000", "LOUPE_GRPC_ADDR": "127.0.0.1:9001", "LOUPE_DATA": "/var/lib/loupe",
				"LOUPE_MAX_BODY_BYTES": "1024", "LOUPE_MAX_ATTRIBUTE_BYTES": "512", "LOUPE_PRICES": "prices.json",
				"LOUPE_DECODE_ONLY": "true", "LOUPE_QUEUE_SPANS": "5000", "LOUPE_LOG_LEVEL": "debug",
				"LOUPE_SAMPLING_GRACE": "2s", "LOUPE_SAMPLING_TIMEOUT": "30s", "LOUPE_SAMPLING_MAX_BYTES": "1048576",
				"LOUPE_REDACTION": "off", "LOUPE_REDACTION_RULES": "r.rules", "LOUPE_REDACTION_SECRET_FILE": "s.key",
			},
			want: serveConfig{
				Addr: "127.0.0.1:9000", GRPCAddr: "127.0.0.1:9001", Data: "/var/lib/loupe",
				MaxBodyBytes: 1024, MaxAttributeBytes: 512, Prices: "prices.json",
				DecodeOnly: true, QueueSpans: 5000, Auth: "auto", LogLevel: slog.LevelDebug,
				Sampling: "all", SamplingGrace: 2 * time.Second, SamplingTimeout: 30 * time.Second, SamplingMaxBytes: 1 << 20,
				Redaction: "off", RedactionRules: "r.rules", RedactionSecretFile: "s.key",
			},
		},
		{
			name: "FlagsOverrideEnv",
			args: []string{"--addr", "127.0.0.1:7000", "-grpc-addr=127.0.0.1:7001", "--data", "d", "--max-body-bytes", "2048",
				"--max-attribute-bytes", "64", "--prices", "p.json", "--decode-only=false", "--queue-spans", "10", "--log-level", "warn",
				"--redaction", "on", "--redaction-rules", "f.rules", "--redaction-secret-file", "f.key"},
			env: map[string]string{
				"LOUPE_ADDR": "127.0.0.1:9000", "LOUPE_GRPC_ADDR": "127.0.0.1:9001", "LOUPE_DATA": "/var/lib/loupe",
				"LOUPE_MAX_BODY_BYTES": "1024", "LOUPE_MAX_ATTRIBUTE_BYTES": "512", "LOUPE_PRICES": "prices.json",
				"LOUPE_DECODE_ONLY": "true", "LOUPE_QUEUE_SPANS": "5000", "LOUPE_LOG_LEVEL": "debug",
				"LOUPE_REDACTION": "off", "LOUPE_REDACTION_RULES": "r.rules", "LOUPE_REDACTION_SECRET_FILE": "s.key",
			},
			want: serveConfig{
				Redaction: "on", RedactionRules: "f.rules", RedactionSecretFile: "f.key",
				Addr: "127.0.0.1:7000", GRPCAddr: "127.0.0.1:7001", Data: "d",
				MaxBodyBytes: 2048, MaxAttributeBytes: 64, Prices: "p.json",
				DecodeOnly: false, QueueSpans: 10, Auth: "auto", LogLevel: slog.LevelWarn,
				Sampling: "all", SamplingGrace: 5 * time.Second, SamplingTimeout: time.Minute, SamplingMaxBytes: 128 << 20,
			},
		},
		{
			name: "FlagAndEnvMix",
			args: []string{"--data", "flagdir"},
			env:  map[string]string{"LOUPE_DATA": "envdir", "LOUPE_QUEUE_SPANS": "77"},
			want: with(func(c *serveConfig) { c.Data = "flagdir"; c.QueueSpans = 77 }),
		},
		{
			name: "EmptyEnvIsUnset",
			env:  map[string]string{"LOUPE_ADDR": "", "LOUPE_MAX_BODY_BYTES": ""},
			want: def,
		},
		{
			name: "DecodeOnlyNeedsNoData",
			args: []string{"--decode-only", "--data", ""},
			want: with(func(c *serveConfig) { c.DecodeOnly = true; c.Data = "" }),
		},
		{
			name: "BoolEnvAsOne",
			env:  map[string]string{"LOUPE_DECODE_ONLY": "1"},
			want: with(func(c *serveConfig) { c.DecodeOnly = true }),
		},
		{
			name: "PortZeroTwiceIsFine",
			args: []string{"--addr", "127.0.0.1:0", "--grpc-addr", "127.0.0.1:0"},
			want: with(func(c *serveConfig) { c.Addr = "127.0.0.1:0"; c.GRPCAddr = "127.0.0.1:0" }),
		},
		{name: "ErrBadEnvInt", env: map[string]string{"LOUPE_QUEUE_SPANS": "lots"}, wantErr: `LOUPE_QUEUE_SPANS="lots"`},
		{name: "ErrBadEnvBool", env: map[string]string{"LOUPE_DECODE_ONLY": "yes please"}, wantErr: "LOUPE_DECODE_ONLY"},
		{name: "ErrBadEnvLevel", env: map[string]string{"LOUPE_LOG_LEVEL": "loud"}, wantErr: "LOUPE_LOG_LEVEL"},
		{name: "BadEnvIgnoredWhenFlagGiven", args: []string{"--queue-spans", "3"}, env: map[string]string{"LOUPE_QUEUE_SPANS": "lots"},
			want: with(func(c *serveConfig) { c.QueueSpans = 3 })},
		{name: "ErrUnknownFlag", args: []string{"--bogus"}, wantErr: "flag provided but not defined: -bogus"},
		{name: "ErrBadFlagValue", args: []string{"--max-body-bytes", "big"}, wantErr: "max-body-bytes"},
		{name: "ErrPositionalArgs", args: []string{"extra"}, wantErr: "serve takes no arguments"},
		{name: "ErrAddrWithoutPort", args: []string{"--addr", "localhost"}, wantErr: "--addr"},
		{name: "ErrGRPCAddrWithoutPort", env: map[string]string{"LOUPE_GRPC_ADDR": "0.0.0.0"}, wantErr: "--grpc-addr"},
		{name: "ErrSameAddr", args: []string{"--addr", "127.0.0.1:5000", "--grpc-addr", "127.0.0.1:5000"}, wantErr: "both"},
		{name: "ErrEmptyData", args: []string{"--data", ""}, wantErr: "--data is empty"},
		{name: "ErrZeroBody", args: []string{"--max-body-bytes", "0"}, wantErr: "--max-body-bytes 0"},
		{name: "ErrNegativeAttr", env: map[string]string{"LOUPE_MAX_ATTRIBUTE_BYTES": "-1"}, wantErr: "--max-attribute-bytes -1"},
		{name: "ErrBadRedaction", args: []string{"--redaction", "maybe"}, wantErr: `--redaction "maybe": want on or off`},
		{name: "ErrNegativeQueue", args: []string{"--queue-spans=-5"}, wantErr: "--queue-spans -5"},
		{name: "MemoryLimit", args: []string{"--memory-limit", "512MB"}, want: with(func(c *serveConfig) { c.MemoryLimit = "512MB" })},
		{name: "MemoryLimitEnv", env: map[string]string{"LOUPE_MEMORY_LIMIT": "2GiB"}, want: with(func(c *serveConfig) { c.MemoryLimit = "2GiB" })},
		{name: "ErrMemoryLimitUnit", args: []string{"--memory-limit", "512"}, wantErr: `--memory-limit "512"`},
		{name: "ErrMemoryLimitQuote", args: []string{"--memory-limit", "1GB'; DROP TABLE spans; --"}, wantErr: "--memory-limit"},
		{name: "StoreThreads", args: []string{"--store-threads", "4"}, want: with(func(c *serveConfig) { c.StoreThreads = 4 })},
		{name: "StoreThreadsEnv", env: map[string]string{"LOUPE_STORE_THREADS": "1"}, want: with(func(c *serveConfig) { c.StoreThreads = 1 })},
		{name: "ErrStoreThreadsNegative", args: []string{"--store-threads", "-1"}, wantErr: "--store-threads -1"},
		{name: "ErrMemoryLimitNoDigits", args: []string{"--memory-limit", "GB"}, wantErr: "--memory-limit"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			getenv := func(k string) string { return tt.env[k] }
			var stderr bytes.Buffer
			got, err := parseServeConfig(tt.args, getenv, &stderr)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("parseServeConfig(%q) error = %v, want one containing %q", tt.args, err, tt.wantErr)
				}
				if c := code(err); c != 2 {
					t.Errorf("code(%v) = %d, want 2 (usage error)", err, c)
				}
				if stderr.Len() != 0 {
					t.Errorf("parseServeConfig printed %q, want nothing (run prints the error once)", stderr.String())
				}
				return
			}
			if err != nil {
				t.Fatalf("parseServeConfig(%q) error = %v", tt.args, err)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("parseServeConfig(%q) mismatch (-want +got):\n%s", tt.args, diff)
			}
		})
	}
}

func TestParseServeConfigHelp(t *testing.T) {
	var stderr bytes.Buffer
	_, err := parseServeConfig([]string{"-h"}, func(string) string { return "" }, &stderr)
	if !errors.Is(err, flag.ErrHelp) {
		t.Fatalf("parseServeConfig(-h) error = %v, want flag.ErrHelp", err)
	}
	for _, want := range []string{"Usage: loupe serve", "LOUPE_<FLAG>", "-grpc-addr", "-max-attribute-bytes", "-decode-only"} {
		if !strings.Contains(stderr.String(), want) {
			t.Errorf("serve -h output lacks %q:\n%s", want, stderr.String())
		}
	}
}

func TestEnvName(t *testing.T) {
	tests := []struct{ flag, want string }{
		{"addr", "LOUPE_ADDR"},
		{"grpc-addr", "LOUPE_GRPC_ADDR"},
		{"max-body-bytes", "LOUPE_MAX_BODY_BYTES"},
	}
	for _, tt := range tests {
		if got := envName(tt.flag); got != tt.want {
			t.Errorf("envName(%q) = %q, want %q", tt.flag, got, tt.want)
		}
	}
}

func TestIsLoopback(t *testing.T) {
	tests := []struct {
		addr string
		want bool
	}{
		{"127.0.0.1:4318", true},
		{"127.1.2.3:4318", true},
		{"[::1]:4318", true},
		{"localhost:4318", true},
		{":4318", false},
		{"0.0.0.0:4318", false},
		{"[::]:4318", false},
		{"10.0.0.5:4318", false},
		{"example.com:4318", false},
		{"garbage", false},
	}
	for _, tt := range tests {
		if got := isLoopback(tt.addr); got != tt.want {
			t.Errorf("isLoopback(%q) = %v, want %v", tt.addr, got, tt.want)
		}
	}
}

// FuzzParseServeConfig: any command line and environment either parses to
// a valid configuration or is refused as a usage error; nothing panics.
func FuzzParseServeConfig(f *testing.F) {
	f.Add("--addr\x00127.0.0.1:0", "LOUPE_QUEUE_SPANS", "10")
	f.Add("--decode-only\x00--data\x00", "LOUPE_LOG_LEVEL", "debug")
	f.Add("-max-body-bytes=-1", "LOUPE_ADDR", ":4318")
	f.Add("--log-level\x00warn+2\x00extra", "LOUPE_DECODE_ONLY", "t")
	f.Fuzz(func(t *testing.T, args, envKey, envValue string) {
		var argv []string
		if args != "" {
			argv = strings.Split(args, "\x00")
		}
		getenv := func(k string) string {
			if k == envKey {
				return envValue
			}
			return ""
		}
		cfg, err := parseServeConfig(argv, getenv, io.Discard)
		switch {
		case err == nil:
			if verr := cfg.Validate(); verr != nil {
				t.Fatalf("parseServeConfig(%q) accepted a config that Validate refuses: %v", argv, verr)
			}
		case errors.Is(err, flag.ErrHelp):
		case code(err) != 2:
			t.Fatalf("parseServeConfig(%q) error %v has exit code %d, want 2 (usage error)", argv, err, code(err))
		}
	})
}
