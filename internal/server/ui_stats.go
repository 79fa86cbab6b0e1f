package server

import (
	"log/slog"
	"net/http"

	"github.com/loupehq/loupe"
)

// handleUIStats serves GET /stats: charts and numbers.
func handleUIStats(log *slog.Logger, reader loupe.TraceReader, tmpl *uiTemplates) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		tmpl.render(w, r, log, "stats.html", uiPage{Title: "Stats", Nav: "stats"})
	})
}
