package server

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"strconv"

	"github.com/loupehq/loupe"
	spb "google.golang.org/genproto/googleapis/rpc/status"
	"google.golang.org/grpc/codes"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"
)

// Errors of the HTTP layer, wrapped with detail.
var (
	// errTooLarge reports a body over Options.MaxBodyBytes (413).
	errTooLarge = errors.New("request body too large")
	// errUnsupportedMedia reports a Content-Type or Content-Encoding the
	// receiver cannot read (415).
	errUnsupportedMedia = errors.New("unsupported media type")
	// errUnavailable marks a transient failure the client should retry
	// (503), such as a failed storage write.
	errUnavailable = errors.New("unavailable")
	// errNoReader reports an API call on a server built without a reader.
	errNoReader = errors.New("trace reading is not enabled on this server")
	// errUnauthenticated reports missing, malformed, unknown or revoked
	// credentials (401, gRPC UNAUTHENTICATED); see auth.go.
	errUnauthenticated = errors.New("unauthenticated")
	// errForbidden reports a caller whose role may not do this (403, gRPC
	// PERMISSION_DENIED).
	errForbidden = errors.New("forbidden")
)

// retryAfterSeconds is the Retry-After sent with 503s and gRPC RetryInfo.
const retryAfterSeconds = 1

// problem is how one error is answered, on HTTP and gRPC alike.
type problem struct {
	status  int        // HTTP status
	code    codes.Code // gRPC code
	message string     // safe to show the client
	reason  string     // loupe_ingest_refused_requests_total reason; "" for none
	retry   bool       // send Retry-After / RetryInfo
}

// classify maps an error to its answer. It is the one place error kinds
// become status codes: overload and transient faults are 503 (OTLP clients
// retry 503), never 500.
func classify(err error) problem {
	switch {
	case errors.Is(err, errTooLarge):
		return problem{http.StatusRequestEntityTooLarge, codes.ResourceExhausted, err.Error(), "too_large", false}
	case errors.Is(err, errUnsupportedMedia):
		return problem{http.StatusUnsupportedMediaType, codes.InvalidArgument, err.Error(), "unsupported", false}
	case errors.Is(err, loupe.ErrInvalid):
		return problem{http.StatusBadRequest, codes.InvalidArgument, err.Error(), "bad_request", false}
	case errors.Is(err, loupe.ErrNotFound):
		return problem{http.StatusNotFound, codes.NotFound, err.Error(), "", false}
	case errors.Is(err, loupe.ErrOverloaded):
		return problem{http.StatusServiceUnavailable, codes.ResourceExhausted, "server overloaded, retry later", "overload", true}
	case errors.Is(err, loupe.ErrClosed):
		return problem{http.StatusServiceUnavailable, codes.Unavailable, "server shutting down, retry later", "unavailable", true}
	case errors.Is(err, context.Canceled), errors.Is(err, context.DeadlineExceeded):
		return problem{http.StatusServiceUnavailable, codes.Unavailable, "request cancelled before it was stored, retry", "unavailable", true}
	case errors.Is(err, errUnavailable):
		return problem{http.StatusServiceUnavailable, codes.Unavailable, "storage unavailable, retry later", "unavailable", true}
	case errors.Is(err, errUnauthenticated):
		return problem{http.StatusUnauthorized, codes.Unauthenticated, err.Error(), "unauthenticated", false}
	case errors.Is(err, errForbidden):
		return problem{http.StatusForbidden, codes.PermissionDenied, err.Error(), "forbidden", false}
	case errors.Is(err, errNoReader):
		return problem{http.StatusNotImplemented, codes.Unimplemented, err.Error(), "", false}
	}
	return problem{http.StatusInternalServerError, codes.Internal, "internal error", "", false}
}

// errorFormat is the body format of an error response.
type errorFormat int

const (
	// formatAPI is the JSON API's {"error": "..."}.
	formatAPI errorFormat = iota
	// formatStatusProto is a protobuf google.rpc.Status, as the OTLP/HTTP
	// spec requires for protobuf requests.
	formatStatusProto
	// formatStatusJSON is a google.rpc.Status in its JSON form, for
	// OTLP/HTTP JSON requests.
	formatStatusJSON
)

// writeError answers err in format and returns the classification. Only
// unexpected errors (500) are logged; the rest are the client's or are
// logged where they happen (the ingest pipeline logs failed writes).
func writeError(w http.ResponseWriter, log *slog.Logger, format errorFormat, err error) problem {
	p := classify(err)
	if p.status == http.StatusInternalServerError {
		log.Error("request failed", "err", err)
	}
	if p.retry {
		w.Header().Set("Retry-After", strconv.Itoa(retryAfterSeconds))
	}
	var (
		body []byte
		ct   string
	)
	switch format {
	case formatStatusProto, formatStatusJSON:
		st := &spb.Status{Code: int32(p.code), Message: p.message}
		if format == formatStatusProto {
			body, _ = proto.Marshal(st) // cannot fail for this message
			ct = contentTypeProtobuf
		} else {
			body, _ = protojson.Marshal(st)
			ct = contentTypeJSON
		}
	default:
		body, _ = marshalJSON(map[string]string{"error": p.message})
		ct = contentTypeJSON
	}
	w.Header().Set("Content-Type", ct)
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(p.status)
	w.Write(body)
	return p
}
