package natsconn_test

import (
	"os"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/jwt/v2"
	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nkeys"

	"github.com/offboard-dev/genesys-deactivator/internal/natsconn"
)

// testOperator is a decentralised-auth chain made for one test: an operator
// that signs a system account and an application account, both known to a
// memory resolver. Keys exist only in memory and in t.TempDir().
type testOperator struct {
	t        testing.TB
	claims   *jwt.OperatorClaims
	sysPub   string
	account  nkeys.KeyPair
	resolver *server.MemAccResolver
}

func newTestOperator(t testing.TB) *testOperator {
	t.Helper()
	okp := newNKey(t, nkeys.CreateOperator)
	ojwt, err := jwt.NewOperatorClaims(publicKey(t, okp)).Encode(okp)
	if err != nil {
		t.Fatalf("encode operator: %v", err)
	}
	claims, err := jwt.DecodeOperatorClaims(ojwt)
	if err != nil {
		t.Fatalf("decode operator: %v", err)
	}
	op := &testOperator{t: t, claims: claims, resolver: &server.MemAccResolver{}}
	op.sysPub = op.addAccount(okp, "SYS", newNKey(t, nkeys.CreateAccount))
	op.account = newNKey(t, nkeys.CreateAccount)
	op.addAccount(okp, "APP", op.account)
	return op
}

// addAccount signs an account with the operator key and stores it in the resolver.
func (op *testOperator) addAccount(okp nkeys.KeyPair, name string, akp nkeys.KeyPair) string {
	op.t.Helper()
	pub := publicKey(op.t, akp)
	ac := jwt.NewAccountClaims(pub)
	ac.Name = name
	ajwt, err := ac.Encode(okp)
	if err != nil {
		op.t.Fatalf("encode account %s: %v", name, err)
	}
	if err := op.resolver.Store(pub, ajwt); err != nil {
		op.t.Fatalf("store account %s: %v", name, err)
	}
	return pub
}

// serverOptions run a server in operator mode that trusts op.
func (op *testOperator) serverOptions() *server.Options {
	return &server.Options{
		TrustedOperators: []*jwt.OperatorClaims{op.claims},
		AccountResolver:  op.resolver,
		SystemAccount:    op.sysPub,
	}
}

// userJWT issues a user JWT for ukp, signed by the account key akp.
func (op *testOperator) userJWT(akp, ukp nkeys.KeyPair, edit func(*jwt.UserClaims)) string {
	op.t.Helper()
	uc := jwt.NewUserClaims(publicKey(op.t, ukp))
	uc.Name = "worker"
	edit(uc)
	ujwt, err := uc.Encode(akp)
	if err != nil {
		op.t.Fatalf("encode user: %v", err)
	}
	return ujwt
}

// credsFile writes a .creds file with userJWT and the seed of ukp, and
// returns its path and the seed (a secret that must never show in errors).
func credsFile(t testing.TB, userJWT string, ukp nkeys.KeyPair) (path, seed string) {
	t.Helper()
	seed = seedOf(t, ukp)
	creds, err := jwt.FormatUserConfig(userJWT, []byte(seed))
	if err != nil {
		t.Fatalf("format creds: %v", err)
	}
	return writeFile(t, "user.creds", string(creds)), seed
}

func seedOf(t testing.TB, kp nkeys.KeyPair) string {
	t.Helper()
	seed, err := kp.Seed()
	if err != nil {
		t.Fatal(err)
	}
	return string(seed)
}

func newNKey(t testing.TB, create func() (nkeys.KeyPair, error)) nkeys.KeyPair {
	t.Helper()
	kp, err := create()
	if err != nil {
		t.Fatalf("create nkey: %v", err)
	}
	return kp
}

func publicKey(t testing.TB, kp nkeys.KeyPair) string {
	t.Helper()
	pub, err := kp.PublicKey()
	if err != nil {
		t.Fatal(err)
	}
	return pub
}

func TestConnectCredsFile(t *testing.T) {
	t.Parallel()
	op := newTestOperator(t)
	url := startServer(t, op.serverOptions())
	user := newNKey(t, nkeys.CreateUser)
	none := func(*jwt.UserClaims) {}

	good, goodSeed := credsFile(t, op.userJWT(op.account, user, none), user)
	// An account the operator never signed, so the server's resolver does not know it.
	unknownAcct, unknownSeed := credsFile(t, op.userJWT(newNKey(t, nkeys.CreateAccount), user, none), user)
	// A valid JWT paired with another user's seed cannot sign the server's nonce.
	// FormatUserConfig refuses to write such a file, so swap the seed afterwards.
	otherSeed := seedOf(t, newNKey(t, nkeys.CreateUser))
	wrongSeed := writeFile(t, "user.creds", strings.Replace(readFile(t, good), goodSeed, otherSeed, 1))
	expired, expiredSeed := credsFile(t, op.userJWT(op.account, user, func(uc *jwt.UserClaims) {
		uc.Expires = time.Now().Add(-time.Hour).Unix()
	}), user)

	tests := []authCase{
		{"valid creds", natsconn.Options{URL: url, CredsFile: good}, "", nil},
		{"account unknown to the server", natsconn.Options{URL: url, CredsFile: unknownAcct}, errAuth, []string{unknownSeed, goodSeed}},
		{"seed does not match the JWT", natsconn.Options{URL: url, CredsFile: wrongSeed}, errAuth, []string{otherSeed, goodSeed}},
		{"expired JWT", natsconn.Options{URL: url, CredsFile: expired}, errAuth, []string{expiredSeed, goodSeed}},
		{"no credentials", natsconn.Options{URL: url}, errAuth, nil},
	}
	runAuthCases(t, tests)
}

func readFile(t testing.TB, path string) string {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(data)
}
