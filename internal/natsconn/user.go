package natsconn

import (
	"os"

	"github.com/nats-io/jwt/v2"
	"github.com/nats-io/nkeys"
)

// UserName names the NATS identity o connects as, for messages and the audit trail: the user of
// user and password authentication; the name of the user JWT in CredsFile (else its subject, the
// user's public NKey); the public key of the NKeySeedFile seed; "token" for token authentication;
// "anonymous" without any. A NATS connection cannot ask the server who it is, so this is what the
// options say, which the server verified when it accepted the connection. It never reads a
// password or token.
func (o Options) UserName() string {
	switch {
	case o.User != "":
		return o.User
	case o.CredsFile != "":
		return credsName(o.CredsFile)
	case o.NKeySeedFile != "":
		return nkeyName(o.NKeySeedFile)
	case o.Token != "" || o.TokenFile != "":
		return "token"
	}
	return "anonymous"
}

// credsName reads the user JWT of a .creds file and returns its name, else its subject; "creds"
// when the file cannot be read as one.
func credsName(path string) string {
	data, err := os.ReadFile(path)
	if err != nil {
		return "creds"
	}
	tok, err := jwt.ParseDecoratedJWT(data)
	if err != nil {
		return "creds"
	}
	uc, err := jwt.DecodeUserClaims(tok)
	if err != nil {
		return "creds"
	}
	if uc.Name != "" {
		return uc.Name
	}
	return uc.Subject
}

// nkeyName returns the public key of the seed in path; "nkey" when the file cannot be read as one.
func nkeyName(path string) string {
	data, err := os.ReadFile(path)
	if err != nil {
		return "nkey"
	}
	kp, err := nkeys.ParseDecoratedNKey(data)
	if err != nil {
		return "nkey"
	}
	defer kp.Wipe()
	if pub, err := kp.PublicKey(); err == nil {
		return pub
	}
	return "nkey"
}
