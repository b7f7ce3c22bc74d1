package codec

import (
	"testing"

	"github.com/stretchr/testify/require"
)

func TestServerConfigFromEnv(t *testing.T) {
	for _, vars := range []map[string]string{nil, {EnvServerAddr: "", EnvCORSOrigins: " ", EnvServerToken: ""}} {
		cfg, err := ServerConfigFromEnv(env(vars))
		require.NoError(t, err)
		require.Equal(t, ServerConfig{
			Addr:    "127.0.0.1:8081",
			Handler: HandlerOptions{AllowedOrigins: []string{"http://localhost:8233", "http://localhost:8080"}},
		}, cfg)
	}

	cfg, err := ServerConfigFromEnv(env(map[string]string{
		EnvServerAddr:  "10.0.0.5:9000",
		EnvCORSOrigins: " https://temporal.internal.example , http://127.0.0.1:8233,",
		EnvServerToken: "tok",
	}))
	require.NoError(t, err)
	require.Equal(t, ServerConfig{
		Addr: "10.0.0.5:9000",
		Handler: HandlerOptions{
			AllowedOrigins: []string{"https://temporal.internal.example", "http://127.0.0.1:8233"},
			AuthToken:      "tok",
		},
	}, cfg)

	cfg, err = ServerConfigFromEnv(env(map[string]string{EnvCORSOrigins: "-"}))
	require.NoError(t, err)
	require.Empty(t, cfg.Handler.AllowedOrigins)

	for _, bad := range []string{"*", "http://*.example", "localhost:8233", "http://localhost:8233/", "http://localhost:8233/ui", "ftp://x", "http://u:p@x"} {
		_, err := ServerConfigFromEnv(env(map[string]string{EnvCORSOrigins: "http://localhost:8233," + bad}))
		require.ErrorContains(t, err, "CODEC_CORS_ORIGINS: origin ", bad)
	}
}
