package codec

import (
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// manyPayloads is a body of n tiny encrypted-looking payloads, as in the
// report that took a worker to 1.49 GB with 40 such requests at once.
func manyPayloads(n int) string {
	p := `{"metadata":{"encoding":"YmluYXJ5L2VuY3J5cHRlZA==","encryption-key-id":"azE="},"data":"AA=="}`
	return `{"payloads":[` + strings.TrimSuffix(strings.Repeat(p+",", n), ",") + `]}`
}

func TestHandlerCapsPayloadsPerRequest(t *testing.T) {
	h := NewHTTPHandler(newCodec(t, testKey(t, "k1")), HandlerOptions{})
	inner := h.(*handler)
	var reached atomic.Int32
	sdk := inner.codec
	inner.codec = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { reached.Add(1); sdk.ServeHTTP(w, r) })

	body := manyPayloads(41_507)
	require.Less(t, len(body), DefaultMaxBodyBytes, "within the body limit: only the count refuses it")
	resp := post(t, h, http.MethodPost, "/decode", body)
	require.Equal(t, http.StatusRequestEntityTooLarge, resp.StatusCode)
	require.Contains(t, readBody(t, resp), "more than 1000 payloads")
	require.Zero(t, reached.Load(), "refused before the SDK builds a single payload")

	resp = post(t, h, http.MethodPost, "/decode", manyPayloads(DefaultMaxPayloads))
	require.Equal(t, http.StatusBadRequest, resp.StatusCode, "up to the limit the codec answers (these are not ciphertext)")
	require.EqualValues(t, 1, reached.Load())
	for _, split := range []string{`{"payloads":[],"payloads":` + manyPayloads(1001)[len(`{"payloads":`):]} {
		resp = post(t, h, http.MethodPost, "/decode", split)
		require.Equal(t, http.StatusRequestEntityTooLarge, resp.StatusCode)
	}
}

func TestHandlerCapsRequestsInFlight(t *testing.T) {
	h := NewHTTPHandler(newCodec(t, testKey(t, "k1")), HandlerOptions{MaxInFlight: 2, QueueWait: 200 * time.Millisecond})
	inner := h.(*handler)
	var now, peak atomic.Int32
	release := make(chan struct{})
	inner.codec = http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		n := now.Add(1)
		for p := peak.Load(); n > p && !peak.CompareAndSwap(p, n); p = peak.Load() {
		}
		<-release
		now.Add(-1)
		w.WriteHeader(http.StatusOK)
	})
	var wg sync.WaitGroup
	codes := make(chan int, 10)
	for range 10 {
		wg.Go(func() { codes <- post(t, h, http.MethodPost, "/decode", manyPayloads(1)).StatusCode })
	}
	time.Sleep(400 * time.Millisecond)
	close(release)
	wg.Wait()
	close(codes)
	count := map[int]int{}
	for c := range codes {
		count[c]++
	}
	require.EqualValues(t, 2, peak.Load(), "at most MaxInFlight at once")
	require.Equal(t, map[int]int{http.StatusOK: 2, http.StatusServiceUnavailable: 8}, count,
		"the others waited QueueWait, then were told to retry")
}

func TestServerConfigCheckKeepsPlaintextOnLoopback(t *testing.T) {
	for _, addr := range []string{"127.0.0.1:8081", "127.0.0.2:1", "[::1]:8081", "localhost:8081", "LOCALHOST:0"} {
		require.NoError(t, ServerConfig{Addr: addr}.Check(), addr)
	}
	for _, addr := range []string{":8081", "0.0.0.0:8081", "[::]:8081", "10.0.0.5:9000", "codec.example:8081", "127.0.0.1"} {
		err := ServerConfig{Addr: addr}.Check()
		require.ErrorContains(t, err, "CODEC_SERVER_TOKEN", addr)
		require.NoError(t, ServerConfig{Addr: addr, Handler: HandlerOptions{AuthToken: "t"}}.Check(), addr)
	}
}
