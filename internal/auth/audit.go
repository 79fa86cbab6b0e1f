package auth

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"time"
)

// AuditFile is the name of the audit log inside a data directory.
const AuditFile = "audit.log"

// MaxAuditRead bounds how many entries one Audit.Read returns.
const MaxAuditRead = 1000

// AuditEntry records one response that included payloads.
type AuditEntry struct {
	Time     time.Time `json:"time"`
	KeyID    string    `json:"key_id"`
	Project  string    `json:"project"`
	Role     Role      `json:"role"`
	TraceID  string    `json:"trace_id"`
	SpanID   string    `json:"span_id,omitempty"`
	Endpoint string    `json:"endpoint"`
	Remote   string    `json:"remote_addr,omitempty"`
}

// Audit is an append-only log of payload reads, one JSON object a line,
// each write fsync'd before Append returns. It is safe for concurrent use.
// The file grows without bound; rotate it with the data directory's
// backups (it is not part of trace retention).
type Audit struct {
	path string

	mu sync.Mutex
	f  *os.File // opened on first Append
}

// OpenAudit returns the audit log DIR/audit.log; the file is created on the
// first Append.
func OpenAudit(dir string) *Audit {
	return &Audit{path: filepath.Join(dir, AuditFile)}
}

// Append writes e and syncs it to disk.
func (a *Audit) Append(e AuditEntry) error {
	b, err := json.Marshal(e)
	if err != nil {
		return fmt.Errorf("encode audit entry: %w", err)
	}
	b = append(b, '\n')
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.f == nil {
		if err := os.MkdirAll(filepath.Dir(a.path), 0o700); err != nil {
			return fmt.Errorf("open audit log: %w", err)
		}
		f, err := os.OpenFile(a.path, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o600)
		if err != nil {
			return fmt.Errorf("open audit log: %w", err)
		}
		a.f = f
	}
	if _, err := a.f.Write(b); err != nil {
		return fmt.Errorf("write audit log: %w", err)
	}
	if err := a.f.Sync(); err != nil {
		return fmt.Errorf("sync audit log: %w", err)
	}
	return nil
}

// Read returns the entries of project at or after since, oldest first, at
// most MaxAuditRead of them (the newest ones when there are more).
func (a *Audit) Read(project string, since time.Time) ([]AuditEntry, error) {
	f, err := os.Open(a.path)
	if errors.Is(err, os.ErrNotExist) {
		return []AuditEntry{}, nil
	}
	if err != nil {
		return nil, fmt.Errorf("open audit log: %w", err)
	}
	defer f.Close()
	out := []AuditEntry{}
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 0, 4096), 1<<20)
	for sc.Scan() {
		var e AuditEntry
		if json.Unmarshal(sc.Bytes(), &e) != nil {
			continue // a torn last line after a crash
		}
		if e.Project != project || e.Time.Before(since) {
			continue
		}
		out = append(out, e)
		if len(out) > MaxAuditRead {
			out = out[1:]
		}
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("read audit log: %w", err)
	}
	return out, nil
}

// Close closes the file.
func (a *Audit) Close() error {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.f == nil {
		return nil
	}
	err := a.f.Close()
	a.f = nil
	return err
}
