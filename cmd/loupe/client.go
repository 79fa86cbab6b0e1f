package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"strings"
	"time"
)

// clientConfig holds the flags every client command shares.
type clientConfig struct {
	Endpoint string // base URL of loupe's HTTP listener
	Key      string // API key, sent as Authorization: Bearer
	JSON     bool   // print the API's JSON instead of a table or timeline
}

// defaultEndpoint is where `loupe serve` listens by default.
const defaultEndpoint = "http://127.0.0.1:4318"

// maxResponseBytes bounds how much of an API response a client command reads.
const maxResponseBytes = 256 << 20

// newClientFlags returns the flag set of a client command with the shared
// flags (--endpoint, --key, --json) registered on cfg. usageLine and about
// head its -h output.
func newClientFlags(name, usageLine, about string, cfg *clientConfig) *flag.FlagSet {
	*cfg = clientConfig{Endpoint: defaultEndpoint}
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.StringVar(&cfg.Endpoint, "endpoint", cfg.Endpoint, "`URL` of the loupe server (env LOUPE_ENDPOINT)")
	fs.StringVar(&cfg.Key, "key", "", "API `key`, sent as a bearer token (env LOUPE_KEY)")
	fs.BoolVar(&cfg.JSON, "json", false, "print the API's JSON answer")
	fs.Usage = func() {
		fmt.Fprintf(fs.Output(), "Usage: %s\n\n%s\n\nFlags:\n", usageLine, about)
		fs.PrintDefaults()
	}
	return fs
}

// parseClientFlags parses args with fs, allowing flags after positional
// arguments (loupe show ID --json), and fills --endpoint and --key from
// LOUPE_ENDPOINT and LOUPE_KEY when not given. It returns the positional
// arguments, flag.ErrHelp after printing the usage for -h, and a
// *usageError for a bad command line.
func parseClientFlags(fs *flag.FlagSet, args []string, getenv func(string) string, stderr io.Writer) ([]string, error) {
	var pos []string
	fs.SetOutput(io.Discard)
	for {
		err := fs.Parse(args)
		if errors.Is(err, flag.ErrHelp) {
			fs.SetOutput(stderr)
			fs.Usage()
			return nil, err
		}
		if err != nil {
			return nil, &usageError{message: fs.Name() + ": " + err.Error(), hint: "loupe " + fs.Name() + " -h"}
		}
		if fs.NArg() == 0 {
			break
		}
		pos = append(pos, fs.Arg(0))
		args = fs.Args()[1:]
	}
	fs.SetOutput(stderr)
	given := make(map[string]bool)
	fs.Visit(func(f *flag.Flag) { given[f.Name] = true })
	for _, name := range []string{"endpoint", "key"} {
		if v := getenv(envName(name)); !given[name] && v != "" {
			fs.Set(name, v) // string flags cannot fail
		}
	}
	ep := fs.Lookup("endpoint").Value.String()
	if u, err := url.Parse(ep); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, &usageError{message: fmt.Sprintf("--endpoint %q: want an http:// or https:// URL", ep), hint: "--endpoint " + defaultEndpoint}
	}
	return pos, nil
}

// apiClient calls loupe's JSON API.
type apiClient struct {
	base string // endpoint without a trailing slash
	key  string
	http *http.Client
}

func newAPIClient(cfg clientConfig) *apiClient {
	return &apiClient{
		base: strings.TrimRight(cfg.Endpoint, "/"),
		key:  cfg.Key,
		http: &http.Client{Timeout: 60 * time.Second},
	}
}

// apiError is an error answer of the API: its status and message.
type apiError struct {
	Status  int
	Message string
}

func (e *apiError) Error() string { return e.Message }

// get calls GET path?params and returns the body of a 200 answer. Other
// answers become an *apiError carrying the API's message.
func (c *apiClient) get(ctx context.Context, path string, params url.Values) ([]byte, error) {
	return c.call(ctx, http.MethodGet, path, params, nil, http.StatusOK)
}

// call sends method path?params with a JSON body (nil for none) and returns
// the body of an answer with status want. Other answers become an
// *apiError carrying the API's message.
func (c *apiClient) call(ctx context.Context, method, path string, params url.Values, body []byte, want int) ([]byte, error) {
	u := c.base + path
	if len(params) > 0 {
		u += "?" + params.Encode()
	}
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body)
	}
	req, err := http.NewRequestWithContext(ctx, method, u, rd)
	if err != nil {
		return nil, fmt.Errorf("build request: %w", err)
	}
	req.Header.Set("Accept", "application/json")
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if c.key != "" {
		req.Header.Set("Authorization", "Bearer "+c.key)
	}
	resp, err := c.http.Do(req)
	if err != nil {
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		return nil, fmt.Errorf("cannot reach loupe at %s (is loupe serve running? see --endpoint): %w", c.base, err)
	}
	defer resp.Body.Close()
	rb, err := io.ReadAll(io.LimitReader(resp.Body, maxResponseBytes))
	if err != nil {
		return nil, fmt.Errorf("read answer of %s %s: %w", method, path, err)
	}
	if resp.StatusCode == want {
		return rb, nil
	}
	var e struct {
		Error string `json:"error"`
	}
	if json.Unmarshal(rb, &e) != nil || e.Error == "" {
		e.Error = strings.TrimSpace(string(rb))
		if len(e.Error) > 200 {
			e.Error = e.Error[:200] + "..."
		}
		if e.Error == "" {
			e.Error = http.StatusText(resp.StatusCode)
		}
	}
	return nil, &apiError{Status: resp.StatusCode, Message: fmt.Sprintf("%s (HTTP %d)", e.Error, resp.StatusCode)}
}

// printJSON writes an API answer indented, for --json.
func printJSON(w io.Writer, body []byte) error {
	var v any
	if err := json.Unmarshal(body, &v); err != nil {
		return fmt.Errorf("decode answer: %w", err)
	}
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	enc.SetEscapeHTML(false)
	return enc.Encode(v)
}

// colorOutput reports whether w is a terminal that should get ANSI colours:
// a character device, with NO_COLOR unset and TERM not "dumb".
func colorOutput(w io.Writer, getenv func(string) string) bool {
	f, ok := w.(*os.File)
	if !ok || getenv("NO_COLOR") != "" || getenv("TERM") == "dumb" {
		return false
	}
	fi, err := f.Stat()
	return err == nil && fi.Mode()&os.ModeCharDevice != 0
}

// group formats n with thousands separators: 1,204.
func group(n int64) string {
	s := fmt.Sprint(n)
	neg := strings.HasPrefix(s, "-")
	s = strings.TrimPrefix(s, "-")
	var b strings.Builder
	if neg {
		b.WriteByte('-')
	}
	for i, c := range s {
		if i > 0 && (len(s)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(c)
	}
	return b.String()
}

// money formats a USD amount: $0.0021, $12.40.
func money(usd float64) string {
	if usd >= 1 || usd <= -1 {
		return fmt.Sprintf("$%.2f", usd)
	}
	return fmt.Sprintf("$%.4f", usd)
}
