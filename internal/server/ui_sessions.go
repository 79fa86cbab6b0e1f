package server

import (
	"log/slog"
	"net/http"

	"github.com/loupehq/loupe"
)

// handleUISessions serves GET /sessions: sessions in a time range.
func handleUISessions(log *slog.Logger, reader loupe.TraceReader, tmpl *uiTemplates) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		tmpl.render(w, r, log, "sessions.html", uiPage{Title: "Sessions", Nav: "sessions"})
	})
}

// handleUISession serves GET /sessions/{id}: one session's traces in order.
func handleUISession(log *slog.Logger, reader loupe.TraceReader, tmpl *uiTemplates) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		tmpl.render(w, r, log, "session.html", uiPage{Title: "Session", Nav: "sessions"})
	})
}
