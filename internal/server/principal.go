package server

import (
	"context"

	"github.com/loupehq/loupe/internal/auth"
)

// principalOf returns the principal a request runs as. Until a server
// requires keys, every request runs as auth.Local.
func principalOf(ctx context.Context) auth.Principal {
	if p, ok := auth.FromContext(ctx); ok {
		return p
	}
	return auth.Local
}
