package server

import (
	"bytes"
	_ "embed" // the sign-in page's template
	"html/template"
	"log/slog"
	"net/http"
	"strings"
	"time"

	"github.com/loupehq/loupe/internal/auth"
)

//go:embed ui/templates/login.html
var loginHTML string

// SessionTTL is how long a UI session lasts after signing in. A session
// ends earlier when its key is revoked.
const SessionTTL = 12 * time.Hour

// loginCSP allows the page's inline style and a form posting to itself.
const loginCSP = "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'"

// addLoginRoutes registers GET/POST /login and POST /logout.
func addLoginRoutes(mux *http.ServeMux, log *slog.Logger, opts Options) {
	tmpl := template.Must(template.New("login.html").Parse(loginHTML))
	cop := http.NewCrossOriginProtection()
	l := &login{log: log, keys: opts.Keys, secure: opts.SecureCookies, tmpl: tmpl, now: time.Now}
	mux.Handle("GET /login", http.HandlerFunc(l.form))
	mux.Handle("POST /login", cop.Handler(http.HandlerFunc(l.signIn)))
	mux.Handle("POST /logout", cop.Handler(http.HandlerFunc(l.signOut)))
}

// login serves the sign-in pages.
type login struct {
	log    *slog.Logger
	keys   *auth.Keys // nil: nothing to sign in to
	secure bool       // Options.SecureCookies
	tmpl   *template.Template
	now    func() time.Time
}

func (l *login) form(w http.ResponseWriter, r *http.Request) {
	if l.keys == nil {
		http.Redirect(w, r, "/", http.StatusSeeOther)
		return
	}
	l.render(w, http.StatusOK, "", safeNext(r.URL.Query().Get("next")))
}

func (l *login) render(w http.ResponseWriter, status int, msg, next string) {
	var buf bytes.Buffer
	if err := l.tmpl.Execute(&buf, struct{ Error, Next string }{msg, next}); err != nil {
		writeError(w, l.log, formatAPI, err)
		return
	}
	h := w.Header()
	h.Set("Content-Type", "text/html; charset=utf-8")
	h.Set("Content-Security-Policy", loginCSP)
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("X-Frame-Options", "DENY")
	h.Set("Referrer-Policy", "same-origin")
	h.Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	w.Write(buf.Bytes())
}

// signIn checks the key and sets the session cookie: the key id, expiry
// and an HMAC, never the key itself.
func (l *login) signIn(w http.ResponseWriter, r *http.Request) {
	if l.keys == nil {
		http.Redirect(w, r, "/", http.StatusSeeOther)
		return
	}
	r.Body = http.MaxBytesReader(w, r.Body, 8<<10)
	next := safeNext(r.PostFormValue("next"))
	key, err := l.keys.Authenticate(strings.TrimSpace(r.PostFormValue("key")))
	if err != nil {
		l.render(w, http.StatusUnauthorized, "Unknown or revoked key.", next)
		return
	}
	if !key.Principal().CanRead() {
		l.render(w, http.StatusForbidden, "This key may only send traces (role ingest); sign in with a viewer, debugger or admin key.", next)
		return
	}
	expires := l.now().Add(SessionTTL)
	value, err := l.keys.NewSession(key.ID, expires)
	if err != nil {
		l.render(w, http.StatusUnauthorized, "Unknown or revoked key.", next)
		return
	}
	http.SetCookie(w, &http.Cookie{Name: sessionCookie, Value: value, Path: "/", Expires: expires,
		HttpOnly: true, SameSite: http.SameSiteStrictMode, Secure: l.secure || r.TLS != nil})
	l.log.Info("ui sign-in", "key_id", key.ID, "project", key.Project, "role", key.Role, "remote", r.RemoteAddr)
	http.Redirect(w, r, next, http.StatusSeeOther)
}

func (l *login) signOut(w http.ResponseWriter, r *http.Request) {
	http.SetCookie(w, &http.Cookie{Name: sessionCookie, Value: "", Path: "/", MaxAge: -1,
		HttpOnly: true, SameSite: http.SameSiteStrictMode, Secure: l.secure || r.TLS != nil})
	http.Redirect(w, r, "/login", http.StatusSeeOther)
}

// safeNext returns next when it is a same-site relative path ("/traces/x"),
// and "/" otherwise: no scheme, host, "//host" or "/\host" (which browsers
// read as another site), no control characters.
func safeNext(next string) string {
	if !strings.HasPrefix(next, "/") || strings.HasPrefix(next, "//") || strings.HasPrefix(next, "/\\") {
		return "/"
	}
	for _, c := range next {
		if c < 0x20 || c == 0x7f || c == '\\' {
			return "/"
		}
	}
	return next
}
