package server

import (
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"time"

	"github.com/loupehq/loupe"
	"github.com/loupehq/loupe/internal/auth"
)

// errNoKeys reports key management on a server without a key store.
var errNoKeys = fmt.Errorf("%w: key management needs a data directory (the server runs with --decode-only or without keys)", errNoReader)

// addAuthRoutes registers the key administration API, the audit API and
// the UI sign-in pages. Role checks happen in the authenticator (auth.go);
// handlers confine themselves to the caller's project.
func addAuthRoutes(mux *http.ServeMux, log *slog.Logger, opts Options) {
	mux.Handle("POST /api/v1/keys", handleCreateKey(log, opts.Keys))
	mux.Handle("GET /api/v1/keys", handleListKeys(log, opts.Keys))
	mux.Handle("DELETE /api/v1/keys/{id}", handleRevokeKey(log, opts.Keys))
	mux.Handle("GET /api/v1/audit", handleAudit(log, opts.Audit))
	addLoginRoutes(mux, log, opts)
}

// handleCreateKey serves POST /api/v1/keys {"project"?, "role", "name"?}:
// a new key of the caller's project, answered as {"key": {...}, "token":
// "loupe_..."}; the token is shown this once. An admin may create keys in
// its own project only: a new project's first admin key is made offline
// with `loupe keys create --data DIR`.
func handleCreateKey(log *slog.Logger, keys *auth.Keys) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if keys == nil {
			writeError(w, log, formatAPI, errNoKeys)
			return
		}
		var in struct {
			Project string `json:"project"`
			Role    string `json:"role"`
			Name    string `json:"name"`
		}
		dec := json.NewDecoder(io.LimitReader(r.Body, 64<<10))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&in); err != nil {
			writeError(w, log, formatAPI, fmt.Errorf("%w: body: want {\"role\": ..., \"name\": ..., \"project\": ...}: %v", loupe.ErrInvalid, err))
			return
		}
		p := principalOf(r.Context())
		if in.Project == "" {
			in.Project = p.Project
		}
		if in.Project != p.Project {
			writeError(w, log, formatAPI, fmt.Errorf("%w: an admin key of project %q cannot create keys for project %q (create a new project's first admin key with `loupe keys create --data DIR --project %s --role admin`)",
				errForbidden, p.Project, in.Project, in.Project))
			return
		}
		role, err := auth.ParseRole(in.Role)
		if err != nil {
			writeError(w, log, formatAPI, err)
			return
		}
		key, token, err := keys.Create(in.Project, role, in.Name)
		if err != nil {
			writeError(w, log, formatAPI, err)
			return
		}
		log.Info("api key created", "key_id", key.ID, "project", key.Project, "role", key.Role, "by", p.KeyID)
		encode(w, log, http.StatusCreated, struct {
			Key   auth.KeyInfo `json:"key"`
			Token string       `json:"token"`
		}{key.Info(), token})
	})
}

// handleListKeys serves GET /api/v1/keys: the caller's project's keys, as
// {"keys": [...]}, without secrets.
func handleListKeys(log *slog.Logger, keys *auth.Keys) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if keys == nil {
			writeError(w, log, formatAPI, errNoKeys)
			return
		}
		list, err := keys.List(principalOf(r.Context()).Project)
		if err != nil {
			writeError(w, log, formatAPI, err)
			return
		}
		out := make([]auth.KeyInfo, len(list))
		for i, k := range list {
			out[i] = k.Info()
		}
		encode(w, log, http.StatusOK, struct {
			Keys []auth.KeyInfo `json:"keys"`
		}{out})
	})
}

// handleRevokeKey serves DELETE /api/v1/keys/{id}: revokes a key of the
// caller's project, effective at once. Another project's key is 404.
func handleRevokeKey(log *slog.Logger, keys *auth.Keys) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if keys == nil {
			writeError(w, log, formatAPI, errNoKeys)
			return
		}
		p := principalOf(r.Context())
		key, err := keys.Revoke(p.Project, r.PathValue("id"))
		if err != nil {
			writeError(w, log, formatAPI, err)
			return
		}
		log.Info("api key revoked", "key_id", key.ID, "project", key.Project, "by", p.KeyID)
		encode(w, log, http.StatusOK, struct {
			Key auth.KeyInfo `json:"key"`
		}{key.Info()})
	})
}

// handleAudit serves GET /api/v1/audit?since=24h (or an RFC 3339 time):
// the caller's project's payload reads, oldest first, as {"entries": [...]},
// at most auth.MaxAuditRead (the newest).
func handleAudit(log *slog.Logger, audit *auth.Audit) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if audit == nil {
			writeError(w, log, formatAPI, fmt.Errorf("%w: the audit log needs a data directory", errNoReader))
			return
		}
		since := time.Now().Add(-24 * time.Hour)
		if s := r.URL.Query().Get("since"); s != "" {
			if d, err := ParseDuration(s); err == nil && d > 0 {
				since = time.Now().Add(-d)
			} else if t, terr := time.Parse(time.RFC3339Nano, s); terr == nil {
				since = t
			} else {
				writeError(w, log, formatAPI, paramError("since", "%q is neither a positive duration (24h, 7d) nor an RFC 3339 time", s))
				return
			}
		}
		entries, err := audit.Read(principalOf(r.Context()).Project, since)
		if err != nil {
			writeError(w, log, formatAPI, err)
			return
		}
		encode(w, log, http.StatusOK, struct {
			Entries []auth.AuditEntry `json:"entries"`
		}{entries})
	})
}
