package redact

import (
	"bytes"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"

	"github.com/loupehq/loupe/internal/atomicfile"
)

// SecretFileName is the file, in the data directory, that holds the
// generated redaction secret when no secret file is configured.
const SecretFileName = "redaction.secret"

// minSecretBytes is the shortest secret accepted from a file.
const minSecretBytes = 16

// LoadSecret returns the key of the redaction HMAC. With file set, it is
// that file's content (surrounding white space removed, at least 16 bytes).
// Otherwise it is the content of dataDir/redaction.secret, which is created
// on first use with 32 random bytes (hex-encoded, mode 0600): reusing it
// across restarts keeps hashed ids joinable.
func LoadSecret(file, dataDir string) ([]byte, error) {
	if file != "" {
		b, err := os.ReadFile(file)
		if err != nil {
			return nil, fmt.Errorf("read redaction secret: %w", err)
		}
		b = bytes.TrimSpace(b)
		if len(b) < minSecretBytes {
			return nil, fmt.Errorf("redaction secret %s is %d bytes, want at least %d (e.g. openssl rand -hex 32 > %s)",
				file, len(b), minSecretBytes, file)
		}
		return b, nil
	}
	path := filepath.Join(dataDir, SecretFileName)
	b, err := os.ReadFile(path)
	if err == nil {
		b = bytes.TrimSpace(b)
		if len(b) < minSecretBytes {
			return nil, fmt.Errorf("redaction secret %s is %d bytes, want at least %d: restore it from a backup, or delete it to start a new one (hashed ids will then no longer join with older ones)",
				path, len(b), minSecretBytes)
		}
		return b, nil
	}
	if !errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("read redaction secret: %w", err)
	}
	if err := os.MkdirAll(dataDir, 0o755); err != nil {
		return nil, fmt.Errorf("create data directory: %w", err)
	}
	raw := make([]byte, 32)
	rand.Read(raw) // never fails (crypto/rand)
	key := []byte(hex.EncodeToString(raw))
	if err := atomicfile.Write(path, append(key, '\n'), 0o600); err != nil {
		return nil, fmt.Errorf("save redaction secret: %w", err)
	}
	return key, nil
}
