package server

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"

	"github.com/loupehq/loupe"
)

// Holder is implemented by readers whose store keeps held traces past
// their retention (the embedded store). Hold is idempotent per reason and
// returns an error wrapping loupe.ErrNotFound for an unknown trace;
// Release of a hold that does not exist does nothing.
type Holder interface {
	Hold(ctx context.Context, project string, id loupe.TraceID, reason string) error
	Release(ctx context.Context, project string, id loupe.TraceID, reason string) error
}

// defaultHoldReason is the reason of a hold made without ?reason=.
const defaultHoldReason = "api"

// errNoHolder reports a hold request on a store without holds.
var errNoHolder = fmt.Errorf("%w: this store does not support retention holds", errNoReader)

// holdJSON is the answer to a hold or release.
type holdJSON struct {
	TraceID string `json:"trace_id"`
	Reason  string `json:"reason"`
	Held    bool   `json:"held"`
}

// handleHold serves PUT (hold) and DELETE (release) /api/v1/traces/{id}/hold?reason=R:
// a held trace keeps its payloads and metadata past the retention policy
// until every reason is released (datasets hold their examples' traces).
// Holding keeps payloads that only debuggers and admins may read, so it
// needs the right to read payloads (auth.Principal.CanReadPayloads).
func handleHold(log *slog.Logger, reader loupe.TraceReader, hold bool) http.Handler {
	holder, _ := reader.(Holder)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if holder == nil {
			writeAPIError(w, log, errNoHolder)
			return
		}
		p := principalOf(r.Context())
		if !p.CanReadPayloads() {
			writeAPIError(w, log, fmt.Errorf("%w: holding traces needs a debugger or admin key", errForbidden))
			return
		}
		id, err := loupe.ParseTraceID(r.PathValue("id"))
		if err != nil {
			writeAPIError(w, log, err)
			return
		}
		reason := r.URL.Query().Get("reason")
		if reason == "" {
			reason = defaultHoldReason
		}
		if hold {
			err = holder.Hold(r.Context(), p.Project, id, reason)
		} else {
			err = holder.Release(r.Context(), p.Project, id, reason)
		}
		if errors.Is(err, loupe.ErrNotFound) {
			err = fmt.Errorf("trace %s %w", id, loupe.ErrNotFound)
		}
		if err != nil {
			writeAPIError(w, log, err)
			return
		}
		encode(w, log, http.StatusOK, holdJSON{TraceID: id.String(), Reason: reason, Held: hold})
	})
}
