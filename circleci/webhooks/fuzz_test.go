package webhooks

import (
	"bytes"
	"errors"
	"testing"
)

// FuzzVerify: no header verifies without the body's v1 HMAC, and none panics.
func FuzzVerify(f *testing.F) {
	for _, v := range docVectors {
		f.Add([]byte(v.secret), "v1="+v.v1, []byte(v.body))
	}
	f.Add([]byte("s"), "v2=00,v1=zz, v1=", []byte("{}"))
	f.Fuzz(func(t *testing.T, secret []byte, header string, body []byte) {
		err := Verify(secret, header, body)
		if err == nil && (len(secret) == 0 || !containsEntry(header, Sign(secret, body))) {
			t.Fatalf("Verify accepted %q without the v1 HMAC", header)
		}
		if err != nil && !errors.Is(err, ErrNoSignature) && !errors.Is(err, ErrBadSignature) {
			t.Fatalf("unexpected error %v", err)
		}
		// A good entry appended verifies, as long as the header stays within the cap.
		if withGood := header + "," + Sign(secret, body); len(secret) > 0 && len(withGood) <= MaxSignatureHeaderBytes {
			if err := Verify(secret, withGood, body); err != nil {
				t.Fatalf("a good v1 entry appended was refused: %v", err)
			}
		}
	})
}

// containsEntry reports whether header holds sig (any case of its hex).
func containsEntry(header, sig string) bool {
	return bytes.Contains(bytes.ToLower([]byte(header)), []byte(sig))
}

// FuzzParse: Parse never panics, and what it accepts has an id and a type, and
// for known types the fields the hand-off needs.
func FuzzParse(f *testing.F) {
	for _, name := range []string{"workflow-completed-vcs.json", "job-completed-vcs.json",
		"workflow-completed-trigger-parameters.json", "job-completed-trigger-parameters.json", "job-completed-malformed.json"} {
		b, err := readFile(name)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b, "")
	}
	f.Add([]byte(`{"id":"p","type":"ping"}`), "ping")
	f.Fuzz(func(t *testing.T, body []byte, headerType string) {
		ev, err := Parse(body, headerType)
		if err != nil {
			if !errors.Is(err, ErrNotEvent) {
				t.Fatalf("error %v does not wrap ErrNotEvent", err)
			}
			return
		}
		if !idPattern.MatchString(ev.ID) || ev.Type == "" {
			t.Fatalf("accepted an event without id or type: %+v", ev)
		}
		if ev.Known() && (ev.Project.Slug == "" || !uuidPattern.MatchString(ev.Pipeline.ID) || !uuidPattern.MatchString(ev.Workflow.ID)) {
			t.Fatalf("accepted a %s event without its ids: %+v", ev.Type, ev)
		}
	})
}
