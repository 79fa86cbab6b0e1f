package auth

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"strconv"
	"strings"
	"time"
)

// ErrBadSession reports a session cookie that is malformed, forged,
// expired, or whose key was revoked.
var ErrBadSession = errors.New("invalid or expired session")

// NewSession returns a session value for the UI cookie of key id, valid
// until expires: "<id>.<unix expiry>.<hex HMAC-SHA256(secret, id.expiry)>".
// It carries no secret: the key itself never reaches the browser's
// storage. It fails with ErrUnknownKey when id is not an active key.
func (k *Keys) NewSession(id string, expires time.Time) (string, error) {
	if _, ok := k.key(id); !ok {
		return "", ErrUnknownKey
	}
	secret := k.sessionSecret()
	if len(secret) == 0 {
		return "", ErrUnknownKey
	}
	payload := id + "." + strconv.FormatInt(expires.Unix(), 10)
	return payload + "." + sign(secret, payload), nil
}

// Session returns the key of a session value made by NewSession, or
// ErrBadSession when it is forged, malformed, expired, or its key has been
// revoked since.
func (k *Keys) Session(value string) (Key, error) {
	payload, mac, ok := cutLast(value, ".")
	if !ok {
		return Key{}, ErrBadSession
	}
	id, exp, ok := strings.Cut(payload, ".")
	if !ok || len(id) != 2*idBytes || !isHex(id) {
		return Key{}, ErrBadSession
	}
	secret := k.sessionSecret()
	if len(secret) == 0 || !hmac.Equal([]byte(mac), []byte(sign(secret, payload))) {
		return Key{}, ErrBadSession
	}
	unix, err := strconv.ParseInt(exp, 10, 64)
	if err != nil || !k.now().Before(time.Unix(unix, 0)) {
		return Key{}, ErrBadSession
	}
	key, ok := k.key(id)
	if !ok {
		return Key{}, ErrBadSession
	}
	return key, nil
}

func sign(secret []byte, payload string) string {
	m := hmac.New(sha256.New, secret)
	m.Write([]byte(payload))
	return hex.EncodeToString(m.Sum(nil))
}

func cutLast(s, sep string) (before, after string, ok bool) {
	i := strings.LastIndex(s, sep)
	if i < 0 {
		return s, "", false
	}
	return s[:i], s[i+len(sep):], true
}
