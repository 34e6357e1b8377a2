package genesyssim

import (
	"errors"
	"testing"
)

func TestAccessorsReturnCopies(t *testing.T) {
	t.Parallel()
	s, err := New(Config{Users: 4})
	must(t, err)
	u := s.Users()[0]
	u.Grants[0].RoleName = "changed"
	u.Active = false
	again, _ := s.User(u.ID)
	if again.Grants[0].RoleName == "changed" || !again.Active {
		t.Error("changing a returned User changed the simulator's state")
	}
	s.Roles()[0].Name = "changed"
	if s.Roles()[0].Name == "changed" {
		t.Error("changing a returned Role changed the org")
	}
}

func TestAddUserAndResetOrg(t *testing.T) {
	t.Parallel()
	s, err := New(Config{Users: 2})
	must(t, err)
	added, err := s.AddUser(User{ID: "fixed-id", UserName: "x@example.com", Active: true, Tokens: 2,
		Grants: []Grant{{RoleName: RoleSupervisor, DivisionName: "Sales"}, {RoleName: RoleSupervisor, DivisionName: "Sales"}}})
	must(t, err)
	if added.Version != 1 || added.Division != "Home" || len(added.Grants) != 1 || added.Grants[0].DivisionID == "" {
		t.Errorf("added: %+v (defaults, ids filled, duplicate grant dropped)", added)
	}
	for name, bad := range map[string]User{
		"repeated id":      {ID: "fixed-id", UserName: "y@example.com"},
		"taken userName":   {UserName: "X@example.com"},
		"no userName":      {},
		"unknown division": {UserName: "z@example.com", Division: "Mars"},
		"unknown role":     {UserName: "z@example.com", Grants: []Grant{{RoleName: "Wizard"}}},
		"negative tokens":  {UserName: "z@example.com", Tokens: -1},
	} {
		if _, err := s.AddUser(bad); !errors.Is(err, ErrInvalidUser) {
			t.Errorf("%s: err = %v, want ErrInvalidUser", name, err)
		}
	}
	must(t, s.SetUserTokens("fixed-id", 0))
	if err := s.SetUserTokens("nobody", 1); !errors.Is(err, ErrUnknownUser) {
		t.Errorf("SetUserTokens(nobody) = %v", err)
	}
	s.ResetOrg()
	if _, ok := s.User("fixed-id"); ok || len(s.Users()) != 2 {
		t.Error("ResetOrg kept an added user")
	}
}
