package server

import (
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"

	"github.com/loupehq/loupe"
)

// maxRulesBody caps a PUT /api/v1/redaction/rules body.
const maxRulesBody = 1 << 20

// RedactionRules reads and replaces the redaction rules of a project
// (*redact.Engine implements it).
type RedactionRules interface {
	// ProjectSource returns the rules file text in force for project: the
	// base rules, then the project's section.
	ProjectSource(project string) []byte
	// SetProject replaces project's section with src. A bad src is an
	// error wrapping loupe.ErrInvalid that names its lines; the rules in
	// force then stay.
	SetProject(project string, src []byte) error
}

// handleRedactionRules serves GET and PUT /api/v1/redaction/rules for the
// caller's project; both need the admin role. PUT's body is the project's
// section (no header); the base rules change only in the rules file.
func handleRedactionRules(log *slog.Logger, rules RedactionRules) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if rules == nil {
			writeError(w, log, formatAPI, fmt.Errorf("redaction is off on this server (--redaction=off): %w", loupe.ErrNotFound))
			return
		}
		p := principalOf(r.Context())
		if !p.CanAdmin() {
			writeError(w, log, formatAPI, fmt.Errorf("%w: redaction rules need the admin role", errForbidden))
			return
		}
		if r.Method == http.MethodPut {
			body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxRulesBody))
			if _, ok := errors.AsType[*http.MaxBytesError](err); ok {
				writeError(w, log, formatAPI, fmt.Errorf("%w: rules over %d bytes", errTooLarge, maxRulesBody))
				return
			}
			if err != nil {
				writeError(w, log, formatAPI, fmt.Errorf("%w: read body: %v", loupe.ErrInvalid, err))
				return
			}
			if err := rules.SetProject(p.Project, body); err != nil {
				writeError(w, log, formatAPI, err)
				return
			}
			log.Info("redaction rules replaced through the API", "project", p.Project, "key_id", p.KeyID)
		}
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		w.Write(rules.ProjectSource(p.Project))
	})
}
