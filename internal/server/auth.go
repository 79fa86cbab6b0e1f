package server

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"mime"
	"net/http"
	"net/url"
	"strings"

	"github.com/loupehq/loupe/internal/auth"
	"google.golang.org/grpc"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
)

// Authentication and authorization.
//
// When Options.Keys is set (and, with Options.AuthOptional, holds at least
// one key, revoked ones included), every request needs credentials, except
// GET /healthz, the sign-in pages (/login, /logout) and the UI's static
// files, which carry no data:
//
//   - HTTP: "Authorization: Bearer <key>", or the UI session cookie set by
//     POST /login;
//   - gRPC: metadata "authorization: Bearer <key>".
//
// Missing, malformed, unknown or revoked credentials are 401 (gRPC
// UNAUTHENTICATED) with a message naming the problem; browsers asking for a
// UI page without a session are redirected to /login. A known key whose role
// may not do what the request asks is 403 (PERMISSION_DENIED):
//
//   - POST /v1/* (OTLP) needs CanWrite;
//   - /api/v1/keys*, /api/v1/audit and GET /metrics need CanAdmin (metrics
//     are server-wide counters; scrape them with an admin key);
//   - everything else (API reads, UI pages) needs CanRead; payloads are
//     stripped for callers without CanReadPayloads (guard.go), and filters
//     over payload text need it too.
//
// Requests then run as the key's principal (auth.NewContext): every
// handler takes the project from it, so a key never reaches another
// project's data. Requests authenticated by the session cookie that change
// state also pass http.CrossOriginProtection (Origin / Sec-Fetch-Site), on
// top of the cookie's SameSite=Strict.

// sessionCookie is the UI session cookie's name.
const sessionCookie = "loupe_session"

// maxAuthHeader bounds the Authorization header's value that is examined.
const maxAuthHeader = 256

// authenticator is the HTTP middleware and gRPC interceptor that turn
// credentials into a principal.
type authenticator struct {
	log      *slog.Logger
	keys     *auth.Keys     // nil: no authentication, everything runs as auth.Local
	internal *auth.Internal // the in-process client's credential; nil: none
	optional bool           // authenticate only while keys holds at least one key
	m        *metrics
	cop      *http.CrossOriginProtection
}

func newAuthenticator(log *slog.Logger, opts Options, m *metrics) *authenticator {
	return &authenticator{log: log, keys: opts.Keys, internal: opts.Internal, optional: opts.AuthOptional, m: m, cop: http.NewCrossOriginProtection()}
}

// required reports whether requests must authenticate now.
func (a *authenticator) required() bool {
	if a.keys == nil {
		return false
	}
	if !a.optional {
		return true
	}
	all, _ := a.keys.Count()
	return all > 0
}

// public reports whether a path is served without credentials.
func public(path string) bool {
	return path == "/healthz" || path == "/login" || path == "/logout" || strings.HasPrefix(path, "/static/")
}

// isUIPageRequest reports whether a request is a browser asking for a UI page, which
// is redirected to /login rather than answered 401.
func isUIPageRequest(r *http.Request) bool {
	p := r.URL.Path
	return (r.Method == http.MethodGet || r.Method == http.MethodHead) &&
		!strings.HasPrefix(p, "/api/") && !strings.HasPrefix(p, "/v1/") && p != "/metrics"
}

// allow checks the principal's role against what the request asks.
func allow(p auth.Principal, r *http.Request) error {
	path := r.URL.Path
	switch {
	case strings.HasPrefix(path, "/v1/"):
		if !p.CanWrite() {
			return fmt.Errorf("%w: role %s may not write spans", errForbidden, p.Role)
		}
	case path == "/api/v1/keys" || strings.HasPrefix(path, "/api/v1/keys/") || path == "/api/v1/audit" || path == "/metrics":
		if !p.CanAdmin() {
			return fmt.Errorf("%w: role %s may not use %s (admin only)", errForbidden, p.Role, path)
		}
	default:
		if !p.CanRead() {
			return fmt.Errorf("%w: role %s may not read", errForbidden, p.Role)
		}
	}
	return nil
}

// errNoCredentials is the 401 of a request that sent none.
var errNoCredentials = fmt.Errorf("%w: missing Authorization header", errUnauthenticated)

// bearer extracts the token of an "Authorization: Bearer <token>" value.
// The scheme is case-insensitive (RFC 7235); exactly one space follows it
// and the token is one word of visible ASCII.
func bearer(h string) (string, error) {
	bad := fmt.Errorf(`%w: Authorization must be "Bearer <key>"`, errUnauthenticated)
	if len(h) > maxAuthHeader {
		return "", bad
	}
	scheme, token, ok := strings.Cut(h, " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") || token == "" {
		return "", bad
	}
	for i := range len(token) {
		if c := token[i]; c <= ' ' || c >= 0x7f {
			return "", bad
		}
	}
	return token, nil
}

// keyPrincipal authenticates a bearer token: the in-process client's
// internal credential, or an API key.
func (a *authenticator) keyPrincipal(token string) (auth.Principal, error) {
	if p, ok := a.internal.Authenticate(token); ok {
		return p, nil
	}
	key, err := a.keys.Authenticate(token)
	if err != nil {
		if errors.Is(err, auth.ErrMalformedKey) {
			return auth.Principal{}, fmt.Errorf("%w: malformed key (want loupe_<id>_<secret>)", errUnauthenticated)
		}
		return auth.Principal{}, fmt.Errorf("%w: unknown or revoked key", errUnauthenticated)
	}
	return key.Principal(), nil
}

// principal returns the caller of r and whether it came from the session
// cookie. An Authorization header wins over the cookie.
func (a *authenticator) principal(r *http.Request) (auth.Principal, bool, error) {
	if hs := r.Header.Values("Authorization"); len(hs) > 0 {
		if len(hs) > 1 {
			return auth.Principal{}, false, fmt.Errorf("%w: more than one Authorization header", errUnauthenticated)
		}
		token, err := bearer(hs[0])
		if err != nil {
			return auth.Principal{}, false, err
		}
		p, err := a.keyPrincipal(token)
		return p, false, err
	}
	if c, err := r.Cookie(sessionCookie); err == nil {
		key, err := a.keys.Session(c.Value)
		if err != nil {
			return auth.Principal{}, true, fmt.Errorf("%w: session expired or revoked, sign in again at /login", errUnauthenticated)
		}
		return key.Principal(), true, nil
	}
	return auth.Principal{}, false, errNoCredentials
}

// wrap is the HTTP middleware. It sits inside observe, so it copies the
// route pattern the mux sets on its request back for the metrics.
func (a *authenticator) wrap(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ctx := withRequestInfo(r.Context(), requestInfo{endpoint: r.Method + " " + r.URL.Path, remote: r.RemoteAddr})
		if !a.required() || public(r.URL.Path) {
			r2 := r.WithContext(ctx)
			next.ServeHTTP(w, r2)
			r.Pattern = r2.Pattern
			return
		}
		p, viaCookie, err := a.principal(r)
		if err != nil {
			if errors.Is(err, errNoCredentials) && isUIPageRequest(r) {
				http.Redirect(w, r, "/login?next="+url.QueryEscape(r.URL.RequestURI()), http.StatusSeeOther)
				return
			}
			w.Header().Set("WWW-Authenticate", `Bearer realm="loupe"`)
			a.fail(w, r, err)
			return
		}
		if viaCookie {
			if err := a.cop.Check(r); err != nil {
				a.fail(w, r, fmt.Errorf("%w: %v", errForbidden, err))
				return
			}
		}
		if err := allow(p, r); err != nil {
			a.fail(w, r, err)
			return
		}
		r2 := r.WithContext(auth.NewContext(ctx, p))
		next.ServeHTTP(w, r2)
		r.Pattern = r2.Pattern
	})
}

// fail answers a refused request in the format its endpoint speaks: a
// google.rpc.Status for OTLP, {"error": ...} otherwise.
func (a *authenticator) fail(w http.ResponseWriter, r *http.Request, err error) {
	format := formatAPI
	if strings.HasPrefix(r.URL.Path, "/v1/") {
		format = formatStatusProto
		if mt, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type")); mt == contentTypeJSON {
			format = formatStatusJSON
		}
	}
	p := writeError(w, a.log, format, err)
	if strings.HasPrefix(r.URL.Path, "/v1/") {
		a.m.refused.WithLabelValues(transportHTTP, p.reason).Inc()
	}
}

// unary is the gRPC interceptor: every OTLP method writes, so it needs a
// key that CanWrite.
func (a *authenticator) unary(ctx context.Context, req any, info *grpc.UnaryServerInfo, handler grpc.UnaryHandler) (any, error) {
	if !a.required() {
		return handler(ctx, req)
	}
	p, err := a.grpcPrincipal(ctx)
	if err == nil && !p.CanWrite() {
		err = fmt.Errorf("%w: role %s may not write spans", errForbidden, p.Role)
	}
	if err != nil {
		pr := classify(err)
		a.m.refused.WithLabelValues(transportGRPC, pr.reason).Inc()
		return nil, status.Error(pr.code, pr.message)
	}
	return handler(auth.NewContext(ctx, p), req)
}

func (a *authenticator) grpcPrincipal(ctx context.Context) (auth.Principal, error) {
	md, _ := metadata.FromIncomingContext(ctx)
	vals := md.Get("authorization")
	switch len(vals) {
	case 0:
		return auth.Principal{}, fmt.Errorf("%w: missing authorization metadata", errUnauthenticated)
	case 1:
	default:
		return auth.Principal{}, fmt.Errorf("%w: more than one authorization metadata value", errUnauthenticated)
	}
	token, err := bearer(vals[0])
	if err != nil {
		return auth.Principal{}, err
	}
	return a.keyPrincipal(token)
}

// requestInfo is what the audit log records about the request.
type requestInfo struct {
	endpoint string // "GET /api/v1/traces/ID"
	remote   string // client address
}

type requestInfoKey struct{}

func withRequestInfo(ctx context.Context, ri requestInfo) context.Context {
	return context.WithValue(ctx, requestInfoKey{}, ri)
}

func requestInfoFrom(ctx context.Context) requestInfo {
	ri, _ := ctx.Value(requestInfoKey{}).(requestInfo)
	return ri
}
