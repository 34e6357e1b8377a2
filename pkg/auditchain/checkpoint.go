package auditchain

import (
	"bytes"
	"crypto/ed25519"
	"crypto/sha256"
	"crypto/x509"
	"encoding/hex"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"
	"time"
)

// Kind is the ops event kind of a checkpoint: subject <prefix>.audit.ops.audit_checkpoint.
const Kind = "audit_checkpoint"

// canonicalHeader starts the signed string; it names the format's version.
const canonicalHeader = "genesys-audit-checkpoint-v1\n"

// prefixLen is how many bytes of each link a checkpoint lists (Links): enough to name the first
// changed sequence, small enough that MaxSpan of them fit in one ops event field (1,024 bytes).
const prefixLen = 4

// MaxSpan is the most messages one checkpoint covers.
const MaxSpan = 1024 / (2 * prefixLen)

// Checkpoint is a signed statement "the chain over the stream up to Seq is Link".
type Checkpoint struct {
	From  uint64    // first sequence covered (the previous checkpoint's Seq + 1)
	Seq   uint64    // last sequence covered
	Link  Link      // link_Seq
	Time  time.Time // when it was made, UTC, second precision
	KeyID string    // KeyID of the signing key
	// Links are the first 4 bytes of each link From..Seq, in order: they name the first changed
	// message of the span.
	Links []byte
	Sig   []byte // Ed25519 over Canonical()
}

// Canonical is the byte string a checkpoint's signature covers: these lines, each ending in \n:
//
//	genesys-audit-checkpoint-v1
//	from=<decimal>
//	seq=<decimal>
//	link=<64 hex digits>
//	time=<RFC 3339 UTC, seconds, e.g. 2026-12-07T02:10:00Z>
//	key_id=<16 hex digits>
//	links=<8 hex digits per sequence from..seq>
func (c *Checkpoint) Canonical() []byte {
	var b strings.Builder
	b.WriteString(canonicalHeader)
	fmt.Fprintf(&b, "from=%d\nseq=%d\nlink=%s\ntime=%s\nkey_id=%s\nlinks=%s\n",
		c.From, c.Seq, c.Link, c.Time.UTC().Format(time.RFC3339), c.KeyID, hex.EncodeToString(c.Links))
	return []byte(b.String())
}

// Fields are the checkpoint as the ops event's fields (all hex or decimal strings).
func (c *Checkpoint) Fields() map[string]string {
	return map[string]string{
		"from": strconv.FormatUint(c.From, 10), "seq": strconv.FormatUint(c.Seq, 10), "link": c.Link.String(),
		"time": c.Time.UTC().Format(time.RFC3339), "key_id": c.KeyID, "links": hex.EncodeToString(c.Links),
		"signature": hex.EncodeToString(c.Sig),
	}
}

// ParseFields reads a checkpoint from an ops event's fields.
func ParseFields(f map[string]string) (*Checkpoint, error) {
	c := &Checkpoint{KeyID: f["key_id"]}
	var err error
	if c.From, err = strconv.ParseUint(f["from"], 10, 64); err != nil {
		return nil, errors.New("checkpoint: bad from")
	}
	if c.Seq, err = strconv.ParseUint(f["seq"], 10, 64); err != nil || c.Seq < c.From {
		return nil, errors.New("checkpoint: bad seq")
	}
	var ok bool
	if c.Link, ok = ParseLink(f["link"]); !ok {
		return nil, errors.New("checkpoint: bad link")
	}
	if c.Time, err = time.Parse(time.RFC3339, f["time"]); err != nil {
		return nil, errors.New("checkpoint: bad time")
	}
	if c.Links, err = hex.DecodeString(f["links"]); err != nil || uint64(len(c.Links)) != (c.Seq-c.From+1)*prefixLen {
		return nil, errors.New("checkpoint: bad links")
	}
	if c.Sig, err = hex.DecodeString(f["signature"]); err != nil || len(c.Sig) != ed25519.SignatureSize {
		return nil, errors.New("checkpoint: bad signature encoding")
	}
	return c, nil
}

// opsEnvelope is the part of an ops event a checkpoint reader needs.
type opsEnvelope struct {
	Data struct {
		Kind   string            `json:"kind"`
		Fields map[string]string `json:"fields"`
	} `json:"data"`
}

// ParseEvent reads a checkpoint from a stored ops event (the message data); ok is false when the
// event is not a checkpoint at all.
func ParseEvent(data []byte) (c *Checkpoint, ok bool, err error) {
	var ev opsEnvelope
	if err := json.Unmarshal(data, &ev); err != nil {
		return nil, true, fmt.Errorf("checkpoint: not JSON: %w", err)
	}
	if ev.Data.Kind != Kind {
		return nil, false, nil
	}
	c, err = ParseFields(ev.Data.Fields)
	return c, true, err
}

// Verify checks the signature with pub and that KeyID names pub.
func (c *Checkpoint) Verify(pub ed25519.PublicKey) error {
	if c.KeyID != KeyID(pub) {
		return fmt.Errorf("checkpoint signed with key %q, not %q", c.KeyID, KeyID(pub))
	}
	if !ed25519.Verify(pub, c.Canonical(), c.Sig) {
		return errors.New("checkpoint signature does not verify")
	}
	return nil
}

// Sign fills KeyID and Sig.
func (c *Checkpoint) Sign(key ed25519.PrivateKey) {
	c.KeyID = KeyID(key.Public().(ed25519.PublicKey))
	c.Sig = ed25519.Sign(key, c.Canonical())
}

// prefixAt is the listed link prefix of seq; nil outside the span.
func (c *Checkpoint) prefixAt(seq uint64) []byte {
	if seq < c.From || seq > c.Seq {
		return nil
	}
	i := (seq - c.From) * prefixLen
	return c.Links[i : i+prefixLen]
}

// KeyID names a public key: the first 8 bytes of SHA-256 of the raw 32-byte key, in hex.
// (openssl pkey -pubin -in pub.pem -outform DER | tail -c 32 | sha256sum | cut -c1-16)
func KeyID(pub ed25519.PublicKey) string {
	s := sha256.Sum256(pub)
	return hex.EncodeToString(s[:8])
}

// LoadPrivateKey reads an Ed25519 private key from a PEM PKCS#8 file, as
// `openssl genpkey -algorithm ed25519 -out key.pem` writes it. Errors never contain the key.
func LoadPrivateKey(path string) (ed25519.PrivateKey, error) {
	der, err := readPEM(path, "PRIVATE KEY")
	if err != nil {
		return nil, err
	}
	k, err := x509.ParsePKCS8PrivateKey(der)
	if err != nil {
		return nil, fmt.Errorf("%s: not a PKCS#8 private key", path)
	}
	ek, ok := k.(ed25519.PrivateKey)
	if !ok {
		return nil, fmt.Errorf("%s: not an Ed25519 key", path)
	}
	return ek, nil
}

// LoadPublicKey reads an Ed25519 public key from a PEM SubjectPublicKeyInfo file, as
// `openssl pkey -in key.pem -pubout -out pub.pem` writes it.
func LoadPublicKey(path string) (ed25519.PublicKey, error) {
	der, err := readPEM(path, "PUBLIC KEY")
	if err != nil {
		return nil, err
	}
	k, err := x509.ParsePKIXPublicKey(der)
	if err != nil {
		return nil, fmt.Errorf("%s: not a public key", path)
	}
	ek, ok := k.(ed25519.PublicKey)
	if !ok {
		return nil, fmt.Errorf("%s: not an Ed25519 key", path)
	}
	return ek, nil
}

func readPEM(path, typ string) ([]byte, error) {
	raw, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	for rest := bytes.TrimSpace(raw); len(rest) > 0; {
		var b *pem.Block
		b, rest = pem.Decode(rest)
		if b == nil {
			break
		}
		if b.Type == typ {
			return b.Bytes, nil
		}
	}
	return nil, fmt.Errorf("%s: no PEM %q block", path, typ)
}
