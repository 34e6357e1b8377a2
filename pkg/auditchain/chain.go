// Package auditchain makes the audit stream tamper evident: a SHA-256 hash chain over every
// message of the stream in stream order, and Ed25519-signed checkpoints of that chain published
// into the same stream as ops events "audit_checkpoint".
//
// The link of the message at stream sequence n is
//
//	link_n = SHA-256( link_{n-1} || be64(n) || be32(len(subject)) || subject || be64(len(data)) || data )
//
// where link_0 is 32 zero bytes, be64/be32 are big-endian unsigned integers, subject is the
// message's NATS subject (ASCII) and data the stored message body: the bytes `nats stream get`
// and a stream backup give back. Headers are not chained: the one header our publishers set that
// matters (Nats-Msg-Id) is the CloudEvent id, which is in the data.
//
// A checkpoint signs the canonical string [Checkpoint.Canonical]; it covers the messages
// from..seq. Its own message lands later in the stream and is covered by the next checkpoint.
package auditchain

import (
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"hash"
)

// Link is one link of the chain.
type Link [sha256.Size]byte

// Zero is link_0, the link before the stream's first message.
var Zero Link

// String is the link in lower-case hex.
func (l Link) String() string { return hex.EncodeToString(l[:]) }

// ParseLink reads a link from 64 hex digits.
func ParseLink(s string) (Link, bool) {
	var l Link
	if len(s) != 2*len(l) {
		return l, false
	}
	if _, err := hex.Decode(l[:], []byte(s)); err != nil {
		return l, false
	}
	return l, true
}

// Hasher computes links; it reuses its buffers, so one Hasher serves one goroutine.
type Hasher struct {
	h   hash.Hash
	hdr [8 + 4]byte
	sum []byte
	buf []byte // the subject's bytes
}

// NewHasher returns a Hasher.
func NewHasher() *Hasher { return &Hasher{h: sha256.New(), sum: make([]byte, 0, sha256.Size)} }

// Next returns link_seq given link_{seq-1} = prev and the stored message (subject, data).
func (x *Hasher) Next(prev Link, seq uint64, subject string, data []byte) Link {
	x.h.Reset()
	x.h.Write(prev[:])
	binary.BigEndian.PutUint64(x.hdr[:8], seq)
	binary.BigEndian.PutUint32(x.hdr[8:], uint32(len(subject)))
	x.h.Write(x.hdr[:])
	x.buf = append(x.buf[:0], subject...)
	x.h.Write(x.buf)
	binary.BigEndian.PutUint64(x.hdr[:8], uint64(len(data)))
	x.h.Write(x.hdr[:8])
	x.h.Write(data)
	var out Link
	copy(out[:], x.h.Sum(x.sum[:0]))
	return out
}

// Next is [Hasher.Next] with a fresh hasher.
func Next(prev Link, seq uint64, subject string, data []byte) Link {
	return NewHasher().Next(prev, seq, subject, data)
}
