package receiver

import (
	"bytes"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/circleci-sync/circleci-sync/circleci/webhooks"
)

// FuzzHandler sends fuzzed signature headers, types and bodies (signed
// when sign, to reach the event checks): nothing is
// handed off unless the body's v1 HMAC is in the header, every answer is one
// of the documented codes, and the log never holds the secret.
func FuzzHandler(f *testing.F) {
	good := event("e-1", "github/acme/api")
	f.Add(webhooks.Sign([]byte(testSecret), good), "workflow-completed", good, false)
	f.Add("v1=00,v2="+webhooks.Sign([]byte(testSecret), good)[3:], "job-completed", good, false)
	f.Add("", "ping", []byte(`{"id":"p"}`), true)
	h, logs := &fakeHandoff{}, &syncBuffer{}
	hd := NewHandler(Connections{"acme": {ConnectionID: "acme", OrgSlug: "gh/acme"}}, Options{
		Secrets: Secrets{Global: testSecret}, Handoff: h,
		Logger: slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug})),
	})
	f.Fuzz(func(t *testing.T, sig, typ string, body []byte, sign bool) {
		if sign { // past the signature: the event checks
			sig += "," + webhooks.Sign([]byte(testSecret), body)
		}
		before := h.count()
		logs.reset()
		req := httptest.NewRequest(http.MethodPost, "/circleci/acme", bytes.NewReader(body))
		req.Header.Set(webhooks.SignatureHeader, sig)
		req.Header.Set(webhooks.EventTypeHeader, typ)
		w := httptest.NewRecorder()
		hd.ServeHTTP(w, req)
		signed := webhooks.Verify([]byte(testSecret), sig, body) == nil
		if h.count() > before && !signed {
			t.Fatalf("handed off an unverified body (code %d)", w.Code)
		}
		switch w.Code {
		case 202, 204, 400, 401, 403, 413:
		default:
			t.Fatalf("code %d", w.Code)
		}
		if strings.Contains(logs.String(), testSecret) {
			t.Fatal("the log holds the secret")
		}
	})
}
