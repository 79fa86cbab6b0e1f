package server

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"time"

	"github.com/loupehq/loupe"
	"github.com/loupehq/loupe/internal/auth"
	"github.com/loupehq/loupe/internal/sample"
)

// Sampling is the tail sampler as the API sees it (*sample.Sampler).
// Set Options.Sampling to serve the /api/v1/sampling endpoints; without
// it, they answer that sampling is off (policy "all").
type Sampling interface {
	Policy() *sample.Policy
	AddBoost(project string, b sample.Boost) (sample.Boost, error)
	Boosts(project string) []sample.Boost
	RevokeBoost(project, id string) error
	Explain(ctx context.Context, project string, id loupe.TraceID) (sample.Explanation, error)
}

// errSamplingOff reports a boost call on a server that keeps every trace.
var errSamplingOff = fmt.Errorf("%w: sampling is off (loupe serve --sampling all keeps every trace); start the server with --sampling production or --sampling FILE", loupe.ErrInvalid)

// maxBoostBody bounds a boost request body.
const maxBoostBody = 64 << 10

// addSamplingRoutes registers the sampling API; s may be nil.
func addSamplingRoutes(mux *http.ServeMux, log *slog.Logger, s Sampling) {
	const mayNotRead, adminOnly = "this key may not read", "boosts need an admin key"
	read, admin := auth.Principal.CanRead, auth.Principal.CanAdmin
	mux.Handle("GET /api/v1/sampling/policy", requireRole(log, read, mayNotRead, handleSamplingPolicy(log, s)))
	mux.Handle("GET /api/v1/sampling/decisions/{trace_id}", requireRole(log, read, mayNotRead, handleSamplingDecision(log, s)))
	mux.Handle("GET /api/v1/sampling/boosts", requireRole(log, read, mayNotRead, handleBoosts(log, s)))
	mux.Handle("POST /api/v1/sampling/boosts", requireRole(log, admin, adminOnly, handleAddBoost(log, s)))
	mux.Handle("DELETE /api/v1/sampling/boosts/{id}", requireRole(log, admin, adminOnly, handleRevokeBoost(log, s)))
}

// requireRole serves h to callers whose principal passes can, and answers
// the others 403 with reason.
func requireRole(log *slog.Logger, can func(auth.Principal) bool, reason string, h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !can(principalOf(r.Context())) {
			writeError(w, log, formatAPI, fmt.Errorf("%w: %s", errForbidden, reason))
			return
		}
		h.ServeHTTP(w, r)
	})
}

func handleSamplingPolicy(log *slog.Logger, s Sampling) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if s == nil {
			encode(w, log, http.StatusOK, map[string]any{"mode": "all", "name": "all", "rules": []any{}})
			return
		}
		p := s.Policy()
		encode(w, log, http.StatusOK, map[string]any{"mode": "sampling", "name": p.Name, "rules": p.Rules})
	})
}

func handleSamplingDecision(log *slog.Logger, s Sampling) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p := principalOf(r.Context())
		id, err := loupe.ParseTraceID(r.PathValue("trace_id"))
		if err != nil {
			writeError(w, log, formatAPI, fmt.Errorf("%w: trace id: %v", loupe.ErrInvalid, err))
			return
		}
		if s == nil {
			encode(w, log, http.StatusOK, sample.Explanation{TraceID: id, State: "decided", Hash: sample.Hash(id),
				Reason: "sampling is off (--sampling all): every trace is kept"})
			return
		}
		ex, err := s.Explain(r.Context(), p.Project, id)
		if err != nil {
			writeError(w, log, formatAPI, err)
			return
		}
		encode(w, log, http.StatusOK, ex)
	})
}

func handleBoosts(log *slog.Logger, s Sampling) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p := principalOf(r.Context())
		list := []sample.Boost{}
		if s != nil {
			list = append(list, s.Boosts(p.Project)...)
		}
		encode(w, log, http.StatusOK, map[string]any{"boosts": list})
	})
}

// boostRequest is the body of POST /api/v1/sampling/boosts: a selector
// (one or more of tenant, route, model, prompt_version), a rate and either
// until (RFC 3339) or for (a duration from now).
type boostRequest struct {
	Tenant        string  `json:"tenant"`
	Route         string  `json:"route"`
	Model         string  `json:"model"`
	PromptVersion string  `json:"prompt_version"`
	Rate          float64 `json:"rate"`
	Until         string  `json:"until"`
	For           string  `json:"for"`
}

func handleAddBoost(log *slog.Logger, s Sampling) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p := principalOf(r.Context())
		if s == nil {
			writeError(w, log, formatAPI, errSamplingOff)
			return
		}
		b, err := decodeBoost(http.MaxBytesReader(w, r.Body, maxBoostBody), time.Now())
		if err != nil {
			writeError(w, log, formatAPI, err)
			return
		}
		b, err = s.AddBoost(p.Project, b)
		if err != nil {
			writeError(w, log, formatAPI, err)
			return
		}
		encode(w, log, http.StatusCreated, b)
	})
}

// decodeBoost reads a boostRequest, refusing unknown fields and trailing
// data, and resolves "for" against now.
func decodeBoost(body io.Reader, now time.Time) (sample.Boost, error) {
	var req boostRequest
	dec := json.NewDecoder(body)
	dec.DisallowUnknownFields()
	if err := dec.Decode(&req); err != nil {
		msg := err.Error()
		if f, ok := strings.CutPrefix(msg, "json: unknown field "); ok {
			msg = "unknown field " + f + " (want tenant, route, model, prompt_version, rate, until or for)"
		}
		return sample.Boost{}, fmt.Errorf("%w: boost: %s", loupe.ErrInvalid, msg)
	}
	if dec.More() {
		return sample.Boost{}, fmt.Errorf("%w: boost: trailing data after the JSON object", loupe.ErrInvalid)
	}
	b := sample.Boost{Tenant: req.Tenant, Route: req.Route, Model: req.Model, PromptVersion: req.PromptVersion, Rate: req.Rate}
	switch {
	case req.Until != "" && req.For != "":
		return b, fmt.Errorf("%w: boost: give until or for, not both", loupe.ErrInvalid)
	case req.Until != "":
		t, err := time.Parse(time.RFC3339, req.Until)
		if err != nil {
			return b, fmt.Errorf("%w: boost: until %q: want RFC 3339, as 2026-11-25T18:00:00Z", loupe.ErrInvalid, req.Until)
		}
		b.Until = t
	case req.For != "":
		d, err := time.ParseDuration(req.For)
		if err != nil || d <= 0 {
			return b, fmt.Errorf("%w: boost: for %q: want a positive duration, as 2h", loupe.ErrInvalid, req.For)
		}
		b.Until = now.Add(d)
	}
	return b, nil
}

func handleRevokeBoost(log *slog.Logger, s Sampling) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p := principalOf(r.Context())
		if s == nil {
			writeError(w, log, formatAPI, fmt.Errorf("boost %q: %w", r.PathValue("id"), loupe.ErrNotFound))
			return
		}
		if err := s.RevokeBoost(p.Project, r.PathValue("id")); err != nil {
			writeError(w, log, formatAPI, err)
			return
		}
		w.WriteHeader(http.StatusNoContent)
	})
}
