package syncworker

import (
	"bytes"
	"context"
	"log/slog"
	"net/http"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/circleci-sync/circleci-sync/codec"
)

// TestServeCodecRefusesPlaintextBeyondLoopback: without CODEC_SERVER_TOKEN the
// worker does not serve decryption on every interface; it says why.
func TestServeCodecRefusesPlaintextBeyondLoopback(t *testing.T) {
	key, err := codec.NewKey("k1", bytes.Repeat([]byte{7}, 32))
	require.NoError(t, err)
	c, err := codec.New([]codec.Key{key})
	require.NoError(t, err)
	var logs bytes.Buffer
	logger := slog.New(slog.NewTextHandler(&logs, nil))

	_, _, err = ServeCodec(context.Background(), c, codec.ServerConfig{Addr: "0.0.0.0:0"}, logger)
	require.ErrorContains(t, err, codec.EnvServerToken)
	require.Contains(t, logs.String(), "codec server not started")

	addr, stop, err := ServeCodec(context.Background(), c, codec.ServerConfig{Addr: "0.0.0.0:0",
		Handler: codec.HandlerOptions{AuthToken: "tok"}}, logger)
	require.NoError(t, err, "with a token it may serve the network")
	stop()
	require.NotEmpty(t, addr)

	addr, stop, err = ServeCodec(context.Background(), c, codec.ServerConfig{Addr: "127.0.0.1:0"}, logger)
	require.NoError(t, err)
	defer stop()
	resp, err := http.Post("http://"+addr+"/decode", "application/json", bytes.NewReader([]byte(`{"payloads":[]}`)))
	require.NoError(t, err)
	require.NoError(t, resp.Body.Close())
	require.Equal(t, http.StatusOK, resp.StatusCode)
}
