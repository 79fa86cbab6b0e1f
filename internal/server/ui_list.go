package server

import (
	"log/slog"
	"net/http"

	"github.com/loupehq/loupe"
)

// handleUIList serves GET /: the traces list.
func handleUIList(log *slog.Logger, reader loupe.TraceReader, tmpl *uiTemplates) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		tmpl.render(w, r, log, "list.html", uiPage{Title: "Traces", Nav: "traces"})
	})
}
