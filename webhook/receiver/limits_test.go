package receiver

import (
	"bufio"
	"bytes"
	"fmt"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/circleci-sync/circleci-sync/circleci/webhooks"
)

// padded is a valid event of exactly n bytes (spaces before the closing brace).
func padded(t *testing.T, n int) []byte {
	t.Helper()
	b := event("e-big", "github/acme/api")
	if n < len(b) {
		t.Fatalf("n=%d below the event's %d bytes", n, len(b))
	}
	return append(append(b[:len(b)-1:len(b)-1], bytes.Repeat([]byte(" "), n-len(b))...), '}')
}

func TestBodySize(t *testing.T) {
	r := newReceiver(t, Options{})
	if resp := r.post(t, "/circleci/acme", padded(t, MaxBodyBytes), nil); resp.StatusCode != http.StatusAccepted {
		t.Errorf("exactly 1 MiB: %d, want 202", resp.StatusCode)
	}
	big := padded(t, MaxBodyBytes+1)
	if resp := r.post(t, "/circleci/acme", big, nil); resp.StatusCode != http.StatusRequestEntityTooLarge {
		t.Errorf("1 MiB + 1 byte: %d, want 413", resp.StatusCode)
	}
	huge := bytes.Repeat([]byte("x"), 8<<20)
	if resp := r.post(t, "/circleci/acme", huge, nil); resp.StatusCode != http.StatusRequestEntityTooLarge {
		t.Errorf("8 MiB: %d, want 413", resp.StatusCode)
	}
	if r.handoff.count() != 1 {
		t.Errorf("%d hand-offs, want 1", r.handoff.count())
	}
	r.assertNoLeak(t, []string{testSecret})
}

// TestSlowBody: a body that stops arriving is cut after BodyTimeout, and
// nothing is handed off.
func TestSlowBody(t *testing.T) {
	r := newReceiver(t, Options{BodyTimeout: 200 * time.Millisecond})
	body := event("e-slow", "github/acme/api")
	conn, err := net.Dial("tcp", strings.TrimPrefix(r.url, "http://"))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	fmt.Fprintf(conn, "POST /circleci/acme HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"+
		"%s: %s\r\nContent-Length: %d\r\n\r\n%s", webhooks.SignatureHeader,
		webhooks.Sign([]byte(testSecret), body), len(body), body[:10])
	start := time.Now()
	_ = conn.SetReadDeadline(time.Now().Add(5 * time.Second))
	resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err != nil {
		t.Fatalf("no answer to a stalled body: %v", err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusRequestTimeout {
		t.Errorf("stalled body: %d, want 408", resp.StatusCode)
	}
	if d := time.Since(start); d > 2*time.Second {
		t.Errorf("answered after %v", d)
	}
	if r.handoff.count() != 0 {
		t.Error("a cut body was handed off")
	}
}

func TestSecretsDir(t *testing.T) {
	dir := t.TempDir()
	writeFile(t, dir+"/acme", "old-secret\n\n  new-secret  \n")
	writeFile(t, dir+"/../outside", "outside-secret")
	r := newReceiver(t, Options{Secrets: Secrets{Dir: dir}})
	body := event("e-1", "github/acme/api")
	for _, c := range []struct {
		secret string
		code   int
	}{{"old-secret", 202}, {"new-secret", 202}, {testSecret, 401}, {"", 401}} {
		h := http.Header{webhooks.SignatureHeader: {webhooks.Sign([]byte(c.secret), body)}}
		if resp := r.post(t, "/circleci/acme", body, h); resp.StatusCode != c.code {
			t.Errorf("secret %q: %d, want %d", c.secret, resp.StatusCode, c.code)
		}
	}
	// beta is in the connections file but has no secret file and no global secret.
	if resp := r.post(t, "/circleci/beta", event("e-2", "github/beta/api"), nil); resp.StatusCode != http.StatusNotFound {
		t.Errorf("connection without a secret: %d, want 404", resp.StatusCode)
	}
	for _, id := range []string{"..", ".", "../outside", "..%2Foutside", "%2e%2e"} {
		if got, _ := (Secrets{Dir: dir}).For(id); got != nil {
			t.Errorf("For(%q) read a file", id)
		}
	}
	r.assertNoLeak(t, []string{"old-secret", "new-secret", "outside-secret"}, body)
}
