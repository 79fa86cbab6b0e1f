package server

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/loupehq/loupe"
	"github.com/loupehq/loupe/internal/query"
)

// Searcher answers trace searches and statistics queries. It is an
// optional capability of the reader passed to New (like http.Flusher is of
// a ResponseWriter): when the reader implements it, GET /api/v1/traces and
// GET /api/v1/stats are served, otherwise they answer 501.
//
// Both methods treat the request's limits as already clamped by the
// server, answer loupe.ErrInvalid (wrapped) for requests they cannot run,
// such as a malformed cursor, and may add notes of their own.
type Searcher interface {
	SearchTraces(ctx context.Context, q query.TraceSearch) (*loupe.TracePage, error)
	Stats(ctx context.Context, q query.StatsRequest) (*loupe.Stats, error)
}

// errNoSearcher reports a search or stats call on a server whose reader
// cannot search.
var errNoSearcher = fmt.Errorf("%w: this store cannot search", errNoReader)

// Query-string defaults of the search and stats endpoints.
const (
	defaultSearchSince = time.Hour
	defaultStatsSince  = 24 * time.Hour
	// maxByFields bounds stats' by= list.
	maxByFields = 4
)

// paramError reports a bad query parameter: 400 naming the parameter.
func paramError(name, format string, args ...any) error {
	return fmt.Errorf("%s: %s: %w", name, fmt.Sprintf(format, args...), loupe.ErrInvalid)
}

// timeRange resolves since, from and to into [from, to), clamped to
// query.MaxRange (with a note). since and from are exclusive; to defaults
// to now, since to defSince.
func timeRange(v url.Values, now time.Time, defSince time.Duration) (from, to time.Time, notes []string, err error) {
	to = now
	if s := v.Get("to"); s != "" {
		if to, err = time.Parse(time.RFC3339Nano, s); err != nil {
			return from, to, nil, paramError("to", "%q is not an RFC 3339 time (e.g. 2026-06-03T17:00:00Z)", s)
		}
	}
	to = to.UTC()
	sinceStr, fromStr := v.Get("since"), v.Get("from")
	switch {
	case sinceStr != "" && fromStr != "":
		return from, to, nil, paramError("since", "give since or from, not both")
	case fromStr != "":
		if from, err = time.Parse(time.RFC3339Nano, fromStr); err != nil {
			return from, to, nil, paramError("from", "%q is not an RFC 3339 time (e.g. 2026-06-03T16:00:00Z)", fromStr)
		}
		from = from.UTC()
		if !from.Before(to) {
			return from, to, nil, paramError("from", "%s is not before to (%s)", from.Format(time.RFC3339Nano), to.Format(time.RFC3339Nano))
		}
	default:
		since := defSince
		if sinceStr != "" {
			if since, err = ParseDuration(sinceStr); err != nil || since <= 0 {
				return from, to, nil, paramError("since", "%q is not a positive duration (e.g. 15m, 1h, 7d)", sinceStr)
			}
		}
		if since > query.MaxRange {
			notes = append(notes, fmt.Sprintf("since %s is longer than the limit of %s; searched the last %s", sinceStr, FormatDuration(query.MaxRange), FormatDuration(query.MaxRange)))
			since = query.MaxRange
		}
		from = to.Add(-since)
	}
	if to.Sub(from) > query.MaxRange {
		notes = append(notes, fmt.Sprintf("time range %s to %s is longer than the limit of %s; searched from %s",
			from.Format(time.RFC3339), to.Format(time.RFC3339), FormatDuration(query.MaxRange), to.Add(-query.MaxRange).Format(time.RFC3339)))
		from = to.Add(-query.MaxRange)
	}
	return from, to, notes, nil
}

// ParseDuration parses a duration as the API and CLI accept it: Go's
// syntax (90s, 15m, 1h30m) plus days and weeks as a leading component
// (7d, 1d12h, 2w). The CLI shares it.
func ParseDuration(s string) (time.Duration, error) {
	orig := s
	var total time.Duration
	matched := false
	for _, unit := range []struct {
		suffix byte
		d      time.Duration
	}{{'w', 7 * 24 * time.Hour}, {'d', 24 * time.Hour}} {
		i := 0
		for i < len(s) && (s[i] >= '0' && s[i] <= '9' || s[i] == '.') {
			i++
		}
		if i == 0 || i >= len(s) || s[i] != unit.suffix {
			continue
		}
		n, err := strconv.ParseFloat(s[:i], 64)
		if err != nil || n > float64(math.MaxInt64)/float64(unit.d) {
			return 0, fmt.Errorf("invalid duration %q", orig)
		}
		total += time.Duration(n * float64(unit.d))
		s = s[i+1:]
		matched = true
	}
	if s == "" {
		if !matched {
			return 0, fmt.Errorf("invalid duration %q", orig)
		}
		return total, nil
	}
	d, err := time.ParseDuration(s)
	if err != nil {
		return 0, fmt.Errorf("invalid duration %q", orig)
	}
	if d > math.MaxInt64-total {
		return 0, fmt.Errorf("invalid duration %q", orig)
	}
	return total + d, nil
}

// FormatDuration prints d compactly, with days when whole: 7d, 90d, 1h,
// 1h30m, 15m, 30s.
func FormatDuration(d time.Duration) string {
	const day = 24 * time.Hour
	if d >= day && d%day == 0 {
		return strconv.FormatInt(int64(d/day), 10) + "d"
	}
	s := d.String() // e.g. 1h30m0s, 5m0s, 30s
	if strings.HasSuffix(s, "m0s") {
		s = strings.TrimSuffix(s, "0s")
	}
	if strings.HasSuffix(s, "h0m") {
		s = strings.TrimSuffix(s, "0m")
	}
	return s
}

// parseFilter parses q=. Its errors are *query.Error, answered with their
// position.
func parseFilter(v url.Values) (query.Expr, error) {
	return query.Parse(v.Get("q"))
}

// writeAPIError answers an API error: a filter error as 400 with its
// position, anything else through writeError.
func writeAPIError(w http.ResponseWriter, log *slog.Logger, err error) {
	if qe, ok := errors.AsType[*query.Error](err); ok {
		encode(w, log, http.StatusBadRequest, struct {
			Error    string `json:"error"`
			Position int    `json:"position"`
		}{qe.Error(), qe.Pos})
		return
	}
	writeError(w, log, formatAPI, err)
}

// finiteOr0 replaces NaN and ±Inf, which JSON cannot carry, with 0.
func finiteOr0(f float64) float64 {
	if math.IsNaN(f) || math.IsInf(f, 0) {
		return 0
	}
	return f
}

// mergeNotes appends the notes of b not already in a.
func mergeNotes(a, b []string) []string {
	for _, n := range b {
		dup := false
		for _, m := range a {
			if m == n {
				dup = true
				break
			}
		}
		if !dup {
			a = append(a, n)
		}
	}
	return a
}
