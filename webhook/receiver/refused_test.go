package receiver

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"go.temporal.io/api/serviceerror"
	"go.temporal.io/sdk/client"

	"github.com/circleci-sync/circleci-sync/circleci/webhooks"
	"github.com/circleci-sync/circleci-sync/workflows"
)

// TestRefusedNeverReachTemporal: against a dev server, every refused request
// (bad or missing signature, a downgrade, a fuzz-like header, oversize and
// slow bodies, wrong methods and paths, another org, not an event) starts no
// workflow and sends no Update, and neither the log nor the metrics hold the
// secret; then one good event does reach it (the check can fail).
func TestRefusedNeverReachTemporal(t *testing.T) {
	c := startStub(t, stubConnectionSync(1))
	r := newReceiver(t, Options{Handoff: Temporal{Client: c, TaskQueue: "webhook-test"}, HandoffTimeout: 10 * time.Second,
		BodyTimeout: 200 * time.Millisecond})
	good := event("e-good", "github/acme/api")
	bad := func(sig string) http.Header { return http.Header{webhooks.SignatureHeader: {sig}} }
	for name, req := range map[string]struct {
		path   string
		body   []byte
		header http.Header
	}{
		"no signature":       {"/circleci/acme", good, bad("")},
		"wrong secret":       {"/circleci/acme", good, bad(webhooks.Sign([]byte("guess"), good))},
		"v2 only":            {"/circleci/acme", good, bad("v2=" + webhooks.Sign([]byte(testSecret), good)[3:])},
		"garbage header":     {"/circleci/acme", good, bad("v1=,v1=zz,=,,v1")},
		"signature of other": {"/circleci/acme", good, bad(webhooks.Sign([]byte(testSecret), event("e-x", "github/acme/api")))},
		"oversize":           {"/circleci/acme", append(bytes.Repeat([]byte(" "), MaxBodyBytes), good...), nil},
		"not an event":       {"/circleci/acme", []byte(`{"id":"x"}`), nil},
		"other org":          {"/circleci/acme", event("e-evil", "github/evil/api"), nil},
		"unknown connection": {"/circleci/nobody", good, nil},
		"nested path":        {"/circleci/acme/x", good, nil},
	} {
		if resp := r.post(t, req.path, req.body, req.header); resp.StatusCode/100 == 2 {
			t.Errorf("%s: %d", name, resp.StatusCode)
		}
	}
	for _, m := range []string{http.MethodGet, http.MethodPut, http.MethodDelete} {
		req, _ := http.NewRequest(m, r.url+"/circleci/acme", bytes.NewReader(good))
		req.Header.Set(webhooks.SignatureHeader, webhooks.Sign([]byte(testSecret), good))
		if resp, err := http.DefaultClient.Do(req); err != nil || resp.StatusCode != http.StatusMethodNotAllowed {
			t.Errorf("%s: %v %v", m, resp, err)
		}
	}
	stalled(t, r.url, good)
	if exists(t, c) {
		t.Fatal("a refused request reached Temporal")
	}
	r.assertNoLeak(t, []string{testSecret}, good)
	if resp := r.post(t, "/circleci/acme", good, nil); resp.StatusCode != http.StatusAccepted || !exists(t, c) {
		t.Fatalf("the control event: %d, or no workflow", resp.StatusCode)
	}
}

// stalled sends a signed event's first bytes and stops.
func stalled(t *testing.T, url string, body []byte) {
	conn, err := net.Dial("tcp", strings.TrimPrefix(url, "http://"))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	fmt.Fprintf(conn, "POST /circleci/acme HTTP/1.1\r\nHost: x\r\n%s: %s\r\nContent-Length: %d\r\n\r\n%s",
		webhooks.SignatureHeader, webhooks.Sign([]byte(testSecret), body), len(body), body[:10])
	_ = conn.SetReadDeadline(time.Now().Add(5 * time.Second))
	if resp, err := http.ReadResponse(bufio.NewReader(conn), nil); err != nil || resp.StatusCode != http.StatusRequestTimeout {
		t.Errorf("stalled body: %v %v", resp, err)
	}
}

// exists tells whether connection acme's workflow was ever started.
func exists(t *testing.T, c client.Client) bool {
	_, err := c.DescribeWorkflow(t.Context(), workflows.ConnectionWorkflowID("acme"), "")
	var nf *serviceerror.NotFound
	if errors.As(err, &nf) {
		return false
	}
	if err != nil {
		t.Fatal(err)
	}
	return true
}
