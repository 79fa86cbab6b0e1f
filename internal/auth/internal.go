package auth

import (
	"crypto/rand"
	"crypto/subtle"
	"encoding/hex"
	"fmt"
)

// internalPrefix starts every internal token; it cannot be mistaken for a
// key ("loupe_<id>_<secret>").
const internalPrefix = "loupe-internal_"

// Internal is a credential for a client inside the server's own process
// (serve --demo's traffic feeder): a random token that lives only in
// memory, is never printed, stored, listed or revocable, dies with the
// process, and authenticates as one fixed principal. A server accepts it
// only when handed it (server.Options.Internal).
type Internal struct {
	token     string
	principal Principal
}

// NewInternal returns a fresh internal credential for p. The principal's
// KeyID should name the client ("internal:demo"), so logs and audits show
// who acted.
func NewInternal(p Principal) (*Internal, error) {
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		return nil, fmt.Errorf("create internal credential: %w", err)
	}
	return &Internal{token: internalPrefix + hex.EncodeToString(b), principal: p}, nil
}

// Token returns the bearer token the in-process client sends. Never log or
// print it.
func (c *Internal) Token() string { return c.token }

// Authenticate returns the credential's principal when token is its token
// (compared in constant time). A nil Internal accepts nothing.
func (c *Internal) Authenticate(token string) (Principal, bool) {
	if c == nil || subtle.ConstantTimeCompare([]byte(token), []byte(c.token)) != 1 {
		return Principal{}, false
	}
	return c.principal, true
}
