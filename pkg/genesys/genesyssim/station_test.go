package genesyssim

import (
	"fmt"
	"testing"
)

type stationsBody struct {
	AssociatedStation, EffectiveStation, DefaultStation, LastAssociatedStation *struct {
		ID, Name, Type string
		DefaultUser    *struct{ ID string }
		AssociatedUser *struct{ ID string }
	}
}

func TestStation(t *testing.T) {
	t.Parallel()
	ts, token := setup(t, Config{Users: 4})
	u := seeded(t, ts)[2].ID // default and associated station
	path := "/api/v2/users/" + u + "/station"
	before := agentOf(t, ts, u)
	var st stationsBody
	decode(t, do(t, ts, "GET", path, token, ""), &st)
	if st.DefaultStation == nil || st.DefaultStation.ID != before.DefaultStationID || st.DefaultStation.DefaultUser.ID != u ||
		st.AssociatedStation == nil || st.AssociatedStation.AssociatedUser.ID != u || st.EffectiveStation.ID != before.AssociatedStationID ||
		st.LastAssociatedStation != nil || st.DefaultStation.Name == "" {
		t.Fatalf("GET = %+v", st)
	}
	wantStatus(t, do(t, ts, "DELETE", path+"/associatedstation", token, ""), 204)
	st = stationsBody{}
	decode(t, do(t, ts, "GET", path, token, ""), &st)
	if st.AssociatedStation != nil || st.LastAssociatedStation.ID != before.AssociatedStationID || st.EffectiveStation.ID != before.DefaultStationID {
		t.Errorf("after clearing the associated station: %+v", st)
	}
	wantStatus(t, do(t, ts, "DELETE", path+"/defaultstation", token, ""), 204)
	wantStatus(t, do(t, ts, "DELETE", path+"/defaultstation", token, ""), 204) // clearing nothing succeeds
	st = stationsBody{}
	decode(t, do(t, ts, "GET", path, token, ""), &st)
	if st.DefaultStation != nil || st.EffectiveStation != nil {
		t.Errorf("after clearing the default station: %+v", st)
	}
	// Undo: PUT the recorded default back.
	wantStatus(t, do(t, ts, "PUT", path+"/defaultstation/"+before.DefaultStationID, token, ""), 204)
	if a := agentOf(t, ts, u); a.DefaultStationID != before.DefaultStationID {
		t.Errorf("default station after PUT = %q", a.DefaultStationID)
	}
	wantErrorBody(t, do(t, ts, "PUT", path+"/defaultstation/"+unknownID, token, ""), 404, "not.found")
}

func TestDefaultStationOfAnotherUser(t *testing.T) {
	t.Parallel()
	for _, take := range []bool{false, true} {
		t.Run(fmt.Sprintf("TakeDefaultStation=%t", take), func(t *testing.T) {
			t.Parallel()
			ts, token := setup(t, Config{Users: 4, TakeDefaultStation: take})
			owner, taker := seeded(t, ts)[3].ID, seeded(t, ts)[1].ID
			station := agentOf(t, ts, owner).DefaultStationID
			r := do(t, ts, "PUT", "/api/v2/users/"+taker+"/station/defaultstation/"+station, token, "")
			if !take {
				wantErrorBody(t, r, 409, "conflict")
				if agentOf(t, ts, owner).DefaultStationID != station || agentOf(t, ts, taker).DefaultStationID == station {
					t.Error("a refused PUT moved the station")
				}
				return
			}
			wantStatus(t, r, 204)
			if agentOf(t, ts, owner).DefaultStationID != "" || agentOf(t, ts, taker).DefaultStationID != station {
				t.Errorf("station not moved: owner %q taker %q", agentOf(t, ts, owner).DefaultStationID, agentOf(t, ts, taker).DefaultStationID)
			}
		})
	}
}

func TestCallForwarding(t *testing.T) {
	t.Parallel()
	ts, token := setup(t, Config{Users: 4})
	u := seeded(t, ts)[1].ID // forwarding on to an external number
	path := "/api/v2/users/" + u + "/callforwarding"
	before := agentOf(t, ts, u).Forwarding
	type cf struct {
		Enabled bool
		Calls   []struct{ Targets []ForwardingTarget }
		User    struct{ ID string }
	}
	var got cf
	decode(t, do(t, ts, "GET", path, token, ""), &got)
	if !got.Enabled || len(got.Calls) != 1 || len(got.Calls[0].Targets) != 1 || got.Calls[0].Targets[0] != before.Targets[0] ||
		got.Calls[0].Targets[0].Type != "PHONENUMBER" || got.User.ID != u {
		t.Fatalf("GET = %+v", got)
	}
	r := do(t, ts, "PATCH", path, token, `{"enabled":false}`)
	wantStatus(t, r, 200)
	if decode(t, r, &got); got.Enabled || len(got.Calls) != 1 {
		t.Errorf("PATCH enabled=false = %+v (targets must be kept)", got)
	}
	// Undo: PATCH back the recorded state.
	body := fmt.Sprintf(`{"enabled":true,"calls":[{"targets":[{"type":"PHONENUMBER","value":%q}]}]}`, before.Targets[0].Value)
	wantStatus(t, do(t, ts, "PATCH", path, token, body), 200)
	if a := agentOf(t, ts, u).Forwarding; !a.Enabled || a.Targets[0] != before.Targets[0] || a.Voicemail != before.Voicemail {
		t.Errorf("after undo %+v, want %+v", a, before)
	}
	for _, bad := range []string{`[`, `{"enabled":"no"}`, `{"calls":[{"targets":[{"type":"FAX","value":"1"}]}]}`,
		`{"enabled":true,"calls":[]}`, `{"calls":[{"targets":[{"type":"PHONENUMBER","value":""}]}]}`} {
		wantErrorBody(t, do(t, ts, "PATCH", path, token, bad), 400, "bad.request")
	}
	if a := agentOf(t, ts, u).Forwarding; !a.Enabled || len(a.Targets) != 1 {
		t.Errorf("a refused PATCH changed forwarding: %+v", a)
	}
}
