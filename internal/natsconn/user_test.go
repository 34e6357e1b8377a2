package natsconn_test

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/nats-io/jwt/v2"
	"github.com/nats-io/nkeys"

	"github.com/offboard-dev/genesys-deactivator/internal/natsconn"
)

func TestUserName(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	ukp, _ := nkeys.CreateUser()
	upub, _ := ukp.PublicKey()
	seed, _ := ukp.Seed()
	akp, _ := nkeys.CreateAccount()
	claims := jwt.NewUserClaims(upub)
	claims.Name = "ops-alice"
	tok, err := claims.Encode(akp)
	if err != nil {
		t.Fatal(err)
	}
	creds, _ := jwt.FormatUserConfig(tok, seed)
	credsPath, seedPath := filepath.Join(dir, "u.creds"), filepath.Join(dir, "u.nk")
	if err := os.WriteFile(credsPath, creds, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(seedPath, seed, 0o600); err != nil {
		t.Fatal(err)
	}
	claims.Name = ""
	anonTok, _ := claims.Encode(akp)
	anonCreds, _ := jwt.FormatUserConfig(anonTok, seed)
	anonPath := filepath.Join(dir, "anon.creds")
	if err := os.WriteFile(anonPath, anonCreds, 0o600); err != nil {
		t.Fatal(err)
	}
	got := map[string]string{
		"user":         natsconn.Options{User: "operator", Password: "pw"}.UserName(),
		"creds":        natsconn.Options{CredsFile: credsPath}.UserName(),
		"creds/noname": natsconn.Options{CredsFile: anonPath}.UserName(),
		"nkey":         natsconn.Options{NKeySeedFile: seedPath}.UserName(),
		"token":        natsconn.Options{Token: "s3cret"}.UserName(),
		"none":         natsconn.Options{}.UserName(),
		"bad creds":    natsconn.Options{CredsFile: seedPath}.UserName(),
		"bad nkey":     natsconn.Options{NKeySeedFile: credsPath + ".missing"}.UserName(),
	}
	want := map[string]string{"user": "operator", "creds": "ops-alice", "creds/noname": upub, "nkey": upub,
		"token": "token", "none": "anonymous", "bad creds": "creds", "bad nkey": "nkey"}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("UserName (-want +got):\n%s", diff)
	}
}
