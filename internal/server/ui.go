package server

import (
	"bytes"
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"fmt"
	"html/template"
	"io/fs"
	"log/slog"
	"math"
	"net/http"
	"net/url"
	"path"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/loupehq/loupe"
)

// uiFiles holds the web UI: html/template pages (one per page plus
// layout.html) and static assets (CSS, hand-written ES modules). There is no
// front-end toolchain; what is here is what is served.
//
//go:embed ui/templates/*.html ui/static
var uiFiles embed.FS

// uiCSP is the Content-Security-Policy of every UI page: no inline scripts
// or styles, nothing from other origins. Page data travels in
// <script type="application/json"> blocks (read with textContent) or JSON
// fetched from the API.
const uiCSP = "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; object-src 'none'; base-uri 'none'; frame-ancestors 'none'"

// addUIRoutes registers the web UI's pages and static files.
//
// Contract with ui_trace.go (see UI-CONTRACT.md):
//
//	func handleUITrace(log *slog.Logger, reader loupe.TraceReader, tmpl *uiTemplates) http.Handler
//
// serves GET /traces/{id}; it renders with tmpl.render(w, r, log, "trace.html", uiPage{...})
// and reports errors with tmpl.renderError(w, r, log, err). Its JSON data
// endpoints are registered by addUITraceRoutes(mux, log, reader), also in
// ui_trace.go.
func addUIRoutes(mux *http.ServeMux, log *slog.Logger, reader loupe.TraceReader) {
	tmpl := mustUITemplates()
	page := func(h http.Handler) http.Handler { return uiHeaders(h) }
	mux.Handle("GET /static/", uiHeaders(tmpl.static))
	mux.Handle("GET /{$}", page(handleUIList(log, reader, tmpl)))
	mux.Handle("GET /traces/{id}", page(handleUITrace(log, reader, tmpl)))
	mux.Handle("GET /sessions", page(handleUISessions(log, reader, tmpl)))
	mux.Handle("GET /sessions/{id}", page(handleUISession(log, reader, tmpl)))
	mux.Handle("GET /stats", page(handleUIStats(log, reader, tmpl)))
	addUITraceRoutes(mux, log, reader)
}

// uiAPIRequest is r as the JSON API's request at apiPath with query api: a
// page reads its parameters through the API's parsers, so the page and the
// API accept the same values and answer the same errors.
func uiAPIRequest(r *http.Request, apiPath string, api url.Values) *http.Request {
	req := r.Clone(r.Context())
	req.URL = &url.URL{Path: apiPath, RawQuery: api.Encode()}
	return req
}

// uiHeaders sets the security headers of every UI response.
func uiHeaders(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		h.Set("Content-Security-Policy", uiCSP)
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("Referrer-Policy", "same-origin")
		h.Set("X-Frame-Options", "DENY")
		next.ServeHTTP(w, r)
	})
}

// uiPage is what layout.html renders; Data is the page's own value.
type uiPage struct {
	// Title goes into <title> and the page heading.
	Title string
	// Nav names the active navigation entry: "traces", "sessions", "stats".
	Nav string
	// Scripts are static ES modules the page loads, e.g. "list.js".
	Scripts []string
	// Styles are extra static style sheets after app.css, e.g. "trace.css".
	Styles []string
	// Data is the page template's own data.
	Data any
	// Project and Role describe the caller (filled in by render).
	Project string
	Role    string
}

// uiTemplates holds one parsed template set per page and the static file
// server with its content hashes.
type uiTemplates struct {
	pages  map[string]*template.Template
	hashes map[string]string // static file name -> short content hash
	static http.Handler
}

// mustUITemplates parses the embedded templates. They are compiled into
// the binary, so a failure is a programming error (covered by tests).
func mustUITemplates() *uiTemplates {
	t, err := newUITemplates(uiFiles)
	if err != nil {
		panic(err)
	}
	return t
}

func newUITemplates(files fs.FS) (*uiTemplates, error) {
	t := &uiTemplates{pages: map[string]*template.Template{}, hashes: map[string]string{}}
	static, err := fs.Sub(files, "ui/static")
	if err != nil {
		return nil, fmt.Errorf("ui static: %w", err)
	}
	err = fs.WalkDir(static, ".", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := fs.ReadFile(static, p)
		if err != nil {
			return err
		}
		sum := sha256.Sum256(b)
		t.hashes[p] = hex.EncodeToString(sum[:6])
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("ui static: %w", err)
	}
	t.static = staticHandler(static, t.hashes)
	base, err := template.New("layout.html").Funcs(t.funcs()).ParseFS(files, "ui/templates/layout.html")
	if err != nil {
		return nil, fmt.Errorf("ui layout: %w", err)
	}
	names, err := fs.Glob(files, "ui/templates/*.html")
	if err != nil {
		return nil, fmt.Errorf("ui templates: %w", err)
	}
	for _, name := range names {
		short := path.Base(name)
		if short == "layout.html" {
			continue
		}
		pt, err := template.Must(base.Clone()).ParseFS(files, name)
		if err != nil {
			return nil, fmt.Errorf("ui template %s: %w", short, err)
		}
		t.pages[short] = pt
	}
	return t, nil
}

// staticHandler serves the static files. A request carrying the file's
// current content hash (?v=HASH, as the static template function writes)
// may be cached forever; any other is revalidated by ETag.
func staticHandler(static fs.FS, hashes map[string]string) http.Handler {
	files := http.FileServerFS(static)
	return http.StripPrefix("/static/", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		name := r.URL.Path
		hash, ok := hashes[name]
		if !ok {
			http.NotFound(w, r)
			return
		}
		if r.URL.Query().Get("v") == hash {
			w.Header().Set("Cache-Control", "public, max-age=31536000, immutable")
		} else {
			w.Header().Set("Cache-Control", "no-cache")
		}
		w.Header().Set("ETag", `"`+hash+`"`)
		files.ServeHTTP(w, r)
	}))
}

// funcs are the template helpers every page may use.
func (t *uiTemplates) funcs() template.FuncMap {
	return template.FuncMap{
		"static":   t.staticURL,
		"ms":       formatMs,
		"num":      formatInt,
		"usd":      formatUSD,
		"pct":      formatPct,
		"when":     formatWhen,
		"iso":      func(ts time.Time) string { return ts.UTC().Format(time.RFC3339Nano) },
		"visible":  visibleText,
		"short":    shortID,
		"add":      func(a, b int) int { return a + b },
		"add64":    func(a, b int64) int64 { return a + b },
		"statusOf": func(s loupe.TraceStatus) string { return string(s) },
		// est marks a figure of a stats row that is an estimate (sampling).
		"est": func(r loupe.StatsRow, field string) string {
			if slices.Contains(r.Estimated, field) {
				return "~"
			}
			return ""
		},
	}
}

// staticURL is the URL of a static file with its content hash.
func (t *uiTemplates) staticURL(name string) (string, error) {
	h, ok := t.hashes[name]
	if !ok {
		return "", fmt.Errorf("no static file %q", name)
	}
	return "/static/" + name + "?v=" + h, nil
}

// render writes page with layout.html around it. The template executes
// into a buffer first, so a template error becomes a clean 500.
func (t *uiTemplates) render(w http.ResponseWriter, r *http.Request, log *slog.Logger, name string, p uiPage) {
	t.renderStatus(w, r, log, http.StatusOK, name, p)
}

func (t *uiTemplates) renderStatus(w http.ResponseWriter, r *http.Request, log *slog.Logger, status int, name string, p uiPage) {
	pt, ok := t.pages[name]
	if !ok {
		log.Error("ui: no template", "name", name)
		http.Error(w, "internal error", http.StatusInternalServerError)
		return
	}
	pr := principalOf(r.Context())
	p.Project, p.Role = pr.Project, string(pr.Role)
	var buf bytes.Buffer
	if err := pt.ExecuteTemplate(&buf, "layout.html", p); err != nil {
		log.Error("ui: render", "template", name, "err", err)
		http.Error(w, "internal error", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	w.Write(buf.Bytes())
}

// uiError is the data of error.html.
type uiError struct {
	Status  int
	Message string
}

// renderError answers err as an HTML page with the status classify gives.
func (t *uiTemplates) renderError(w http.ResponseWriter, r *http.Request, log *slog.Logger, err error) {
	pb := classify(err)
	if pb.status >= 500 {
		log.Error("ui request failed", "path", r.URL.Path, "err", err)
	}
	if pb.retry {
		w.Header().Set("Retry-After", strconv.Itoa(retryAfterSeconds))
	}
	t.renderStatus(w, r, log, pb.status, "error.html", uiPage{Title: http.StatusText(pb.status),
		Data: uiError{Status: pb.status, Message: pb.message}})
}

// visibleText makes control characters visible (ESC becomes \x1b) so a
// terminal escape sequence in a payload shows as text and is never
// interpreted. Newlines and tabs are kept; invalid UTF-8 shows as U+FFFD.
// html/template still escapes the result.
func visibleText(s string) string {
	clean := true
	for _, r := range s {
		if r == utf8.RuneError || (r < 0x20 && r != '\n' && r != '\t') || (r >= 0x7f && r < 0xa0) {
			clean = false
			break
		}
	}
	if clean {
		return s
	}
	var b strings.Builder
	for _, r := range s {
		switch {
		case r == '\n' || r == '\t':
			b.WriteRune(r)
		case r < 0x20 || (r >= 0x7f && r < 0xa0):
			fmt.Fprintf(&b, `\x%02x`, r)
		default:
			b.WriteRune(r)
		}
	}
	return b.String()
}

// shortID abbreviates a long id for display (the full id goes in links and
// titles).
func shortID(s string) string {
	if len(s) <= 12 {
		return s
	}
	return s[:12]
}

// formatMs shows a latency in milliseconds with sensible precision.
func formatMs(ms float64) string {
	switch {
	case math.IsNaN(ms) || math.IsInf(ms, 0):
		return "–"
	case ms == 0:
		return "0"
	case ms >= 10000:
		return strconv.FormatFloat(ms/1000, 'f', 1, 64) + " s"
	case ms >= 100:
		return strconv.FormatFloat(ms, 'f', 0, 64) + " ms"
	case ms >= 1:
		return strconv.FormatFloat(ms, 'f', 1, 64) + " ms"
	}
	return strconv.FormatFloat(ms, 'f', 2, 64) + " ms"
}

// formatInt writes n with thousands separators.
func formatInt(n int64) string {
	s := strconv.FormatInt(n, 10)
	neg := strings.HasPrefix(s, "-")
	if neg {
		s = s[1:]
	}
	var b strings.Builder
	for i, c := range s {
		if i > 0 && (len(s)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(c)
	}
	if neg {
		return "-" + b.String()
	}
	return b.String()
}

// formatUSD shows a cost in dollars; small costs keep four decimals.
func formatUSD(v float64) string {
	switch {
	case math.IsNaN(v) || math.IsInf(v, 0):
		return "–"
	case v == 0:
		return "$0"
	case v < 1:
		return "$" + strconv.FormatFloat(v, 'f', 4, 64)
	}
	return "$" + strconv.FormatFloat(v, 'f', 2, 64)
}

// formatPct shows a ratio in [0, 1] as a percentage.
func formatPct(v float64) string {
	if math.IsNaN(v) || math.IsInf(v, 0) {
		return "–"
	}
	return strconv.FormatFloat(v*100, 'f', 1, 64) + "%"
}

// formatWhen shows a time in UTC to the millisecond.
func formatWhen(ts time.Time) string {
	if ts.IsZero() {
		return ""
	}
	return ts.UTC().Format("2006-01-02 15:04:05.000")
}
