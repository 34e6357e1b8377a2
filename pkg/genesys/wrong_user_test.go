package genesys

import (
	"errors"
	"fmt"
	"net/http"
	"strings"
	"testing"
)

const otherUserID = "0b9d2c41-7e55-4a3b-8f7c-5d1e2a3b4c5d"

// otherUserJSON is a user other than the one the tests ask for.
func otherUserJSON() string {
	return fmt.Sprintf(`{"id":%q,"userName":"grace.nguyen.19@example.com","externalId":"00u-grace","active":true,"roles":[{"value":"Agent"}],"meta":{"version":"4"}}`, otherUserID)
}

// Review D14 (probe 36): a read or a search answered with another user is
// refused, naming both, instead of being handed on as the user asked for.
func TestUsersRefuseAnAnswerNamingAnotherUser(t *testing.T) {
	t.Parallel()
	c, b := setup(t)
	b.mux.HandleFunc("GET /api/v2/scim/v2/users", func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintf(w, `{"totalResults":1,"Resources":[%s]}`, otherUserJSON())
	})
	b.mux.HandleFunc("GET /api/v2/scim/v2/users/{id}", func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprint(w, otherUserJSON())
	})
	ctx := t.Context()
	for name, call := range map[string]func() (*User, *Response, error){
		"by user name":   func() (*User, *Response, error) { return c.Users.FindByUserName(ctx, "someone.else@example.com") },
		"by external id": func() (*User, *Response, error) { return c.Users.FindByExternalID(ctx, "00u-someone") },
		"by id":          func() (*User, *Response, error) { return c.Users.Get(ctx, testUserID) },
	} {
		u, _, err := call()
		if !errors.Is(err, ErrWrongUser) || u != nil {
			t.Errorf("%s: %+v, %v; want ErrWrongUser and no user", name, u, err)
			continue
		}
		if !strings.Contains(err.Error(), otherUserID) {
			t.Errorf("%s: the error does not name the user Genesys answered with: %v", name, err)
		}
	}
}

// The comparison follows SCIM: userName and ids ignore case, externalId is exact.
func TestUsersAcceptTheSameUserWhateverTheCaseRulesAllow(t *testing.T) {
	t.Parallel()
	c, b := setup(t)
	b.mux.HandleFunc("GET /api/v2/scim/v2/users", func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintf(w, `{"totalResults":1,"Resources":[%s]}`, otherUserJSON())
	})
	b.mux.HandleFunc("GET /api/v2/scim/v2/users/{id}", func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprint(w, otherUserJSON())
	})
	ctx := t.Context()
	if _, _, err := c.Users.FindByUserName(ctx, "Grace.Nguyen.19@EXAMPLE.com"); err != nil {
		t.Errorf("user name in another case: %v", err)
	}
	if _, _, err := c.Users.Get(ctx, strings.ToUpper(otherUserID)); err != nil {
		t.Errorf("id in upper case: %v", err)
	}
	if _, _, err := c.Users.FindByExternalID(ctx, "00U-GRACE"); !errors.Is(err, ErrWrongUser) {
		t.Errorf("external id in another case: %v, want ErrWrongUser", err)
	}
}

// Review L4 (probe 37): a user id in an answer that is not a UUID is an
// unexpected response, refused where it enters, never a path or a NATS key.
func TestUsersRefuseAnIDThatIsNotAUUID(t *testing.T) {
	t.Parallel()
	c, b := setup(t)
	bad := `{"id":"../../tokens/me","userName":"jane.doe@example.com","active":true,"meta":{"version":"1"}}`
	b.mux.HandleFunc("GET /api/v2/scim/v2/users", func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintf(w, `{"totalResults":1,"Resources":[%s]}`, bad)
	})
	u, _, err := c.Users.FindByUserName(t.Context(), "jane.doe@example.com")
	if !errors.Is(err, ErrUnexpectedResponse) || u != nil {
		t.Fatalf("FindByUserName = %+v, %v; want ErrUnexpectedResponse", u, err)
	}
	if !strings.Contains(err.Error(), "not a UUID") {
		t.Errorf("the error does not say what is wrong: %v", err)
	}
}

// Review D13: after a version conflict, the re-read user is checked before
// the next PATCH; a check that fails stops the call with nothing sent.
func TestEnsureActiveChecksEveryReRead(t *testing.T) {
	t.Parallel()
	c, b := setup(t)
	log := conflictServer(t, b, 412, "")
	first := &User{ID: testUserID, Active: true, Meta: Meta{Version: "1"}}
	stop := errors.New("protected now")
	var checked []*User
	res, err := c.Users.EnsureActiveChecked(t.Context(), first, false, 3, func(u *User) error {
		checked = append(checked, u)
		return stop
	})
	if !errors.Is(err, stop) {
		t.Fatalf("err = %v, want the check's error", err)
	}
	if len(checked) != 1 || checked[0].Meta.Version != "2" || res.User != checked[0] || res.Changed {
		t.Errorf("checked %+v, result %+v; want the re-read user (version 2), unchanged", checked, res)
	}
	if want := `[PATCH "1" GET]`; fmt.Sprint(*log) != want {
		t.Errorf("requests %v, want %s: no PATCH after the failed check", *log, want)
	}
}
