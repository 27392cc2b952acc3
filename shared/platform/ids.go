package platform

import (
	"crypto/rand"
	"encoding/hex"
)

// NewID returns a random 128-bit identifier as 32 hex characters.
func NewID() string {
	var b [16]byte
	if _, err := rand.Read(b[:]); err != nil {
		panic("platform: crypto/rand failed: " + err.Error())
	}
	return hex.EncodeToString(b[:])
}
