package auth

import (
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/loupehq/loupe"
	"github.com/loupehq/loupe/internal/atomicfile"
)

// KeysFile is the name of the key file inside a data directory.
const KeysFile = "keys.json"

// Token layout: "loupe_" + 12 hex characters of id + "_" + 64 hex
// characters of secret (256 random bits). Only SHA-256(secret) is stored:
// for a high-entropy secret a fast hash is enough (nothing to brute-force).
const (
	tokenPrefix = "loupe_"
	idBytes     = 6
	secretBytes = 32
	tokenLen    = len(tokenPrefix) + 2*idBytes + 1 + 2*secretBytes
	// MaxNameLen bounds a key's free-text name, in bytes.
	MaxNameLen = 100
	// reloadEvery is how often Authenticate looks at the file for changes
	// made by another process (loupe keys --data while the server runs).
	reloadEvery = time.Second
)

// Errors of the key store. Each is returned wrapped with detail.
var (
	// ErrUnknownKey reports a token that is not a key of this server, or a
	// revoked one. Callers answer 401 and must not say which.
	ErrUnknownKey = errors.New("unknown or revoked key")
	// ErrMalformedKey reports a token that does not have the shape of a
	// loupe key.
	ErrMalformedKey = errors.New("malformed key")
)

var projectRE = regexp.MustCompile(`^[a-z0-9][a-z0-9_-]{0,62}$`)

// ValidateProject returns an error wrapping loupe.ErrInvalid unless p is a
// valid project name: 1 to 63 characters, lowercase letters, digits, '_'
// and '-', starting with a letter or digit.
func ValidateProject(p string) error {
	if !projectRE.MatchString(p) {
		return fmt.Errorf("%w: project %q: want 1-63 characters of a-z, 0-9, '_' and '-', starting with a letter or digit", loupe.ErrInvalid, p)
	}
	return nil
}

// Key is one API key as stored: everything but the secret, of which only a
// hash is kept.
type Key struct {
	// ID is the public part of the token (12 hex characters); it names the
	// key in lists, audit entries and revocations.
	ID      string    `json:"id"`
	Project string    `json:"project"`
	Role    Role      `json:"role"`
	Name    string    `json:"name,omitempty"`
	Created time.Time `json:"created"`
	// RevokedAt is when the key was revoked; nil while it is active.
	RevokedAt *time.Time `json:"revoked_at,omitempty"`
	// Hash is hex SHA-256 of the token's secret part.
	Hash string `json:"hash"`
}

// KeyInfo is a key as the API and the CLI show it: never its secret nor
// its hash. Its JSON names are those of Key.
type KeyInfo struct {
	ID        string     `json:"id"`
	Project   string     `json:"project"`
	Role      Role       `json:"role"`
	Name      string     `json:"name"`
	Created   time.Time  `json:"created"`
	RevokedAt *time.Time `json:"revoked_at"` // nil while the key is active
}

// Info returns what may be shown of k.
func (k Key) Info() KeyInfo {
	return KeyInfo{ID: k.ID, Project: k.Project, Role: k.Role, Name: k.Name, Created: k.Created, RevokedAt: k.RevokedAt}
}

// Active reports whether the key has not been revoked.
func (k Key) Active() bool { return k.RevokedAt == nil }

// Principal returns the principal a request authenticated by k runs as.
func (k Key) Principal() Principal { return Principal{KeyID: k.ID, Project: k.Project, Role: k.Role} }

// keyFile is the JSON form of keys.json.
type keyFile struct {
	Version int `json:"version"`
	// SessionSecret (hex, 32 bytes) signs UI session cookies; created with
	// the first key.
	SessionSecret string `json:"session_secret,omitempty"`
	Keys          []Key  `json:"keys"`
}

// Keys is the API key store: the file DIR/keys.json, written atomically,
// and its in-memory copy. Changes made by another process (loupe keys
// create --data DIR while the server runs) are picked up when the file's
// modification time or size changes, checked at most once a second and on
// every authentication miss. It is safe for concurrent use. Two processes
// changing the file at the same instant may lose one change (last rename
// wins); changes are re-read from disk just before each write to keep that
// window small.
type Keys struct {
	path string
	now  func() time.Time

	mu      sync.Mutex
	file    keyFile
	byID    map[string]int // index into file.Keys
	secret  []byte         // decoded file.SessionSecret
	modTime time.Time      // of the file as last read
	size    int64
	checked time.Time // last stat
}

// OpenKeys loads DIR/keys.json; a missing file is an empty store (the file
// is created by the first Create). now is the clock (nil: time.Now).
func OpenKeys(dir string, now func() time.Time) (*Keys, error) {
	if now == nil {
		now = time.Now
	}
	k := &Keys{path: filepath.Join(dir, KeysFile), now: now, byID: map[string]int{}}
	k.mu.Lock()
	defer k.mu.Unlock()
	if err := k.reloadLocked(true); err != nil {
		return nil, err
	}
	return k, nil
}

// Path returns the key file's path.
func (k *Keys) Path() string { return k.path }

// reloadLocked re-reads the file when its mtime or size changed (always
// when force). A file that vanished empties the store.
func (k *Keys) reloadLocked(force bool) error {
	k.checked = k.now()
	fi, err := os.Stat(k.path)
	if errors.Is(err, os.ErrNotExist) {
		k.file, k.byID, k.secret, k.modTime, k.size = keyFile{}, map[string]int{}, nil, time.Time{}, 0
		return nil
	}
	if err != nil {
		return fmt.Errorf("stat key file: %w", err)
	}
	if !force && fi.ModTime().Equal(k.modTime) && fi.Size() == k.size {
		return nil
	}
	b, err := os.ReadFile(k.path)
	if err != nil {
		return fmt.Errorf("read key file: %w", err)
	}
	var f keyFile
	if err := json.Unmarshal(b, &f); err != nil {
		return fmt.Errorf("read key file %s: %w (Possible solutions: restore it from a backup, or move it away and create new keys)", k.path, err)
	}
	byID := make(map[string]int, len(f.Keys))
	for i, key := range f.Keys {
		byID[key.ID] = i
	}
	secret, err := hex.DecodeString(f.SessionSecret)
	if err != nil {
		return fmt.Errorf("read key file %s: bad session_secret: %w", k.path, err)
	}
	k.file, k.byID, k.secret, k.modTime, k.size = f, byID, secret, fi.ModTime(), fi.Size()
	return nil
}

// writeLocked writes k.file atomically: temp file, fsync, rename, fsync of
// the directory. The file is readable by its owner only.
func (k *Keys) writeLocked() error {
	b, err := json.MarshalIndent(k.file, "", "  ")
	if err != nil {
		return fmt.Errorf("encode key file: %w", err)
	}
	dir := filepath.Dir(k.path)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return fmt.Errorf("create data directory: %w", err)
	}
	if err := atomicfile.Write(k.path, append(b, '\n'), 0o600); err != nil {
		return fmt.Errorf("replace key file: %w", err)
	}
	// Re-read what was written, so the in-memory copy and the stat agree.
	return k.reloadLocked(true)
}

// Create adds a key for project with role and a free-text name, and
// returns it with its token. The token is shown to the caller once and
// never stored. Errors wrap loupe.ErrInvalid for a bad project, role or
// name.
func (k *Keys) Create(project string, role Role, name string) (Key, string, error) {
	if err := ValidateProject(project); err != nil {
		return Key{}, "", err
	}
	if _, err := ParseRole(string(role)); err != nil {
		return Key{}, "", err
	}
	if err := validateName(name); err != nil {
		return Key{}, "", err
	}
	k.mu.Lock()
	defer k.mu.Unlock()
	if err := k.reloadLocked(false); err != nil {
		return Key{}, "", err
	}
	var id, secret [idBytes + secretBytes]byte
	rand.Read(id[:idBytes]) // crypto/rand.Read never fails (Go 1.24+)
	rand.Read(secret[:secretBytes])
	key := Key{
		ID:      hex.EncodeToString(id[:idBytes]),
		Project: project,
		Role:    role,
		Name:    name,
		Created: k.now().UTC().Truncate(time.Second),
		Hash:    hashSecret(hex.EncodeToString(secret[:secretBytes])),
	}
	if _, dup := k.byID[key.ID]; dup { // 48 random bits: practically never
		return Key{}, "", fmt.Errorf("create key: id collision, try again")
	}
	token := tokenPrefix + key.ID + "_" + hex.EncodeToString(secret[:secretBytes])
	old := k.file
	k.file.Version = 1
	k.file.Keys = append(slices.Clip(k.file.Keys), key)
	if k.file.SessionSecret == "" {
		var s [32]byte
		rand.Read(s[:])
		k.file.SessionSecret = hex.EncodeToString(s[:])
	}
	if err := k.writeLocked(); err != nil {
		k.file = old
		return Key{}, "", err
	}
	return key, token, nil
}

// validateName accepts printable UTF-8 of at most MaxNameLen bytes.
func validateName(name string) error {
	if len(name) > MaxNameLen || !utf8.ValidString(name) {
		return fmt.Errorf("%w: key name: want at most %d bytes of UTF-8", loupe.ErrInvalid, MaxNameLen)
	}
	for _, r := range name {
		if !unicode.IsPrint(r) {
			return fmt.Errorf("%w: key name: %q is not printable", loupe.ErrInvalid, r)
		}
	}
	return nil
}

// List returns the keys of project ("" for every project), oldest first,
// revoked keys included.
func (k *Keys) List(project string) ([]Key, error) {
	k.mu.Lock()
	defer k.mu.Unlock()
	if err := k.reloadLocked(false); err != nil {
		return nil, err
	}
	out := []Key{}
	for _, key := range k.file.Keys {
		if project == "" || key.Project == project {
			out = append(out, key)
		}
	}
	return out, nil
}

// Revoke revokes the key id of project ("" for any project) and returns it.
// It takes effect for this store at once, and for other processes sharing
// the file within a second. A key of another project is ErrNotFound, as is
// an unknown id; revoking a revoked key is a no-op.
func (k *Keys) Revoke(project, id string) (Key, error) {
	k.mu.Lock()
	defer k.mu.Unlock()
	if err := k.reloadLocked(false); err != nil {
		return Key{}, err
	}
	i, ok := k.byID[id]
	if !ok || (project != "" && k.file.Keys[i].Project != project) {
		return Key{}, fmt.Errorf("key %q: %w", id, loupe.ErrNotFound)
	}
	if !k.file.Keys[i].Active() {
		return k.file.Keys[i], nil
	}
	keys := slices.Clone(k.file.Keys)
	at := k.now().UTC().Truncate(time.Second)
	keys[i].RevokedAt = &at
	old := k.file
	k.file.Keys = keys
	if err := k.writeLocked(); err != nil {
		k.file = old
		return Key{}, err
	}
	return k.file.Keys[k.byID[id]], nil
}

// Count returns the number of keys in the store, revoked ones included, and
// of active keys.
func (k *Keys) Count() (all, active int) {
	k.mu.Lock()
	defer k.mu.Unlock()
	k.maybeReloadLocked()
	for _, key := range k.file.Keys {
		all++
		if key.Active() {
			active++
		}
	}
	return all, active
}

// maybeReloadLocked re-reads the file if it was not checked within the
// last second. A failed reload keeps the last good copy: a half-edited
// file must not unlock or lock out the server.
func (k *Keys) maybeReloadLocked() {
	if k.now().Sub(k.checked) >= reloadEvery {
		_ = k.reloadLocked(false)
	}
}

// Authenticate returns the key a token belongs to. It fails with
// ErrMalformedKey for a token not shaped like a loupe key and ErrUnknownKey
// for an unknown, wrong or revoked one. The secret is compared in constant
// time.
func (k *Keys) Authenticate(token string) (Key, error) {
	id, secret, ok := splitToken(token)
	if !ok {
		return Key{}, ErrMalformedKey
	}
	want := hashSecret(secret)
	k.mu.Lock()
	defer k.mu.Unlock()
	k.maybeReloadLocked()
	key, found := k.lookupLocked(id, want)
	if !found {
		// Maybe created or revoked by another process since the last check.
		_ = k.reloadLocked(false)
		key, found = k.lookupLocked(id, want)
	}
	if !found {
		return Key{}, ErrUnknownKey
	}
	return key, nil
}

func (k *Keys) lookupLocked(id, hash string) (Key, bool) {
	i, ok := k.byID[id]
	if !ok {
		return Key{}, false
	}
	key := k.file.Keys[i]
	if subtle.ConstantTimeCompare([]byte(key.Hash), []byte(hash)) != 1 || !key.Active() {
		return Key{}, false
	}
	return key, true
}

// key returns the active key id.
func (k *Keys) key(id string) (Key, bool) {
	k.mu.Lock()
	defer k.mu.Unlock()
	k.maybeReloadLocked()
	i, ok := k.byID[id]
	if !ok || !k.file.Keys[i].Active() {
		return Key{}, false
	}
	return k.file.Keys[i], true
}

// sessionSecret returns the secret that signs session cookies, nil when
// the store has never held a key.
func (k *Keys) sessionSecret() []byte {
	k.mu.Lock()
	defer k.mu.Unlock()
	return k.secret
}

// splitToken splits "loupe_<id>_<secret>" and checks the shape: lowercase
// hex of the right lengths.
func splitToken(token string) (id, secret string, ok bool) {
	if len(token) != tokenLen || !strings.HasPrefix(token, tokenPrefix) {
		return "", "", false
	}
	rest := token[len(tokenPrefix):]
	id, secret, ok = strings.Cut(rest, "_")
	if !ok || len(id) != 2*idBytes || len(secret) != 2*secretBytes || !isHex(id) || !isHex(secret) {
		return "", "", false
	}
	return id, secret, true
}

func isHex(s string) bool {
	for i := range len(s) {
		c := s[i]
		if (c < '0' || c > '9') && (c < 'a' || c > 'f') {
			return false
		}
	}
	return true
}

func hashSecret(secret string) string {
	h := sha256.Sum256([]byte(secret))
	return hex.EncodeToString(h[:])
}
