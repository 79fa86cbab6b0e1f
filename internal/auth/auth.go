// Package auth holds who is calling: the principal (project and role) a
// request runs as, carried in its context. The key store and the HTTP/gRPC
// middleware that authenticate requests build on it; handlers only ask the
// principal what it may do.
package auth

import (
	"context"
	"fmt"

	"github.com/loupehq/loupe"
)

// Role is what a key may do within its project.
type Role string

// The roles, from least to most privileged (ingest is write-only and apart).
const (
	// RoleIngest may write spans (OTLP) and nothing else.
	RoleIngest Role = "ingest"
	// RoleViewer may read metadata: lists, stats, spans without payloads.
	RoleViewer Role = "viewer"
	// RoleDebugger may read everything a viewer may, plus payloads; its
	// payload reads are audited.
	RoleDebugger Role = "debugger"
	// RoleAdmin may do everything in its project: read, write, manage keys,
	// rules and settings.
	RoleAdmin Role = "admin"
)

// ParseRole returns the role named s, or an error wrapping loupe.ErrInvalid.
func ParseRole(s string) (Role, error) {
	switch r := Role(s); r {
	case RoleIngest, RoleViewer, RoleDebugger, RoleAdmin:
		return r, nil
	}
	return "", fmt.Errorf("%w: unknown role %q (want ingest, viewer, debugger or admin)", loupe.ErrInvalid, s)
}

// Principal is the caller a request runs as.
type Principal struct {
	// KeyID identifies the API key (never the secret); "" when keys are not
	// required (a loopback server without keys).
	KeyID string
	// Project is the only project the caller may read or write.
	Project string
	Role    Role
}

// Local is the principal of every request to a server that requires no
// keys: the default project, with every right.
var Local = Principal{Project: loupe.DefaultProject, Role: RoleAdmin}

// CanWrite reports whether the principal may ingest spans.
func (p Principal) CanWrite() bool { return p.Role == RoleIngest || p.Role == RoleAdmin }

// CanRead reports whether the principal may read trace metadata.
func (p Principal) CanRead() bool { return p.Role != RoleIngest && p.Role != "" }

// CanReadPayloads reports whether the principal may read payloads
// (messages, tool arguments and results, documents' text).
func (p Principal) CanReadPayloads() bool { return p.Role == RoleDebugger || p.Role == RoleAdmin }

// CanAdmin reports whether the principal may manage keys, rules and settings.
func (p Principal) CanAdmin() bool { return p.Role == RoleAdmin }

type principalKey struct{}

// NewContext returns ctx carrying p.
func NewContext(ctx context.Context, p Principal) context.Context {
	return context.WithValue(ctx, principalKey{}, p)
}

// FromContext returns the principal in ctx, and false when there is none.
func FromContext(ctx context.Context) (Principal, bool) {
	p, ok := ctx.Value(principalKey{}).(Principal)
	return p, ok
}
