package loupe

import "errors"

// Errors used across loupe. Adapters wrap them with detail, for example
// fmt.Errorf("%w: span name exceeds %d bytes", loupe.ErrInvalid, n).
var (
	// ErrInvalid reports input that can never succeed as sent (bad ids,
	// malformed bodies, unknown fields). HTTP maps it to 400.
	ErrInvalid = errors.New("invalid")

	// ErrNotFound reports that the requested object does not exist. HTTP maps
	// it to 404.
	ErrNotFound = errors.New("not found")

	// ErrOverloaded reports that a bounded queue is full; the caller should
	// retry later. HTTP maps it to 503 (or 429) with Retry-After, gRPC to
	// RESOURCE_EXHAUSTED or UNAVAILABLE.
	ErrOverloaded = errors.New("overloaded")

	// ErrClosed reports use of a component after Close.
	ErrClosed = errors.New("closed")
)
