package codec

import (
	"fmt"
	"net"
	"net/netip"
	"net/url"
	"strings"
)

// The environment variables ServerConfigFromEnv reads: the listen address,
// the Web UI origins (comma separated) and the bearer token.
const (
	EnvServerAddr  = "CODEC_SERVER_ADDR"
	EnvCORSOrigins = "CODEC_CORS_ORIGINS"
	EnvServerToken = "CODEC_SERVER_TOKEN"
)

// Codec server defaults: loopback only; the dev server's and the docker UI's origins.
const (
	DefaultServerAddr  = "127.0.0.1:8081"
	DefaultCORSOrigins = "http://localhost:8233,http://localhost:8080"
)

// ServerConfig is a codec server's configuration.
type ServerConfig struct {
	Addr    string
	Handler HandlerOptions
}

// ServerConfigFromEnv reads the Env* variables through lookup; empty counts as
// unset, and CODEC_CORS_ORIGINS "-" allows no origin.
func ServerConfigFromEnv(lookup func(string) (string, bool)) (ServerConfig, error) {
	get := func(name, def string) string {
		if v, _ := lookup(name); strings.TrimSpace(v) != "" {
			return strings.TrimSpace(v)
		}
		return def
	}
	cfg := ServerConfig{
		Addr:    get(EnvServerAddr, DefaultServerAddr),
		Handler: HandlerOptions{AuthToken: get(EnvServerToken, "")},
	}
	origins := get(EnvCORSOrigins, DefaultCORSOrigins)
	if origins == "-" {
		return cfg, nil
	}
	for o := range strings.SplitSeq(origins, ",") {
		o = strings.TrimSpace(o)
		if o == "" {
			continue
		}
		if err := checkOrigin(o); err != nil {
			return ServerConfig{}, fmt.Errorf("%s: %w", EnvCORSOrigins, err)
		}
		cfg.Handler.AllowedOrigins = append(cfg.Handler.AllowedOrigins, o)
	}
	return cfg, nil
}

// checkOrigin accepts an Origin header's scheme://host[:port], no wildcard.
func checkOrigin(o string) error {
	u, err := url.Parse(o)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" ||
		u.Path != "" || u.RawQuery != "" || u.Fragment != "" || u.User != nil || strings.Contains(o, "*") {
		return fmt.Errorf("origin %q: want scheme://host[:port], e.g. http://localhost:8233", o)
	}
	return nil
}

// Check refuses to serve plaintext beyond loopback without AuthToken.
func (c ServerConfig) Check() error {
	if c.Handler.AuthToken != "" || loopback(c.Addr) {
		return nil
	}
	return fmt.Errorf("codec server: %s=%q is not a loopback address and %s is not set: anyone reaching it "+
		"could decrypt every payload and encrypt under the live key; set %s (clients send --codec-auth \"Bearer <token>\") "+
		"or listen on 127.0.0.1", EnvServerAddr, c.Addr, EnvServerToken, EnvServerToken)
}

// loopback tells whether addr binds loopback only (an empty host binds all).
func loopback(addr string) bool {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return false
	}
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip, err := netip.ParseAddr(host)
	return err == nil && ip.IsLoopback()
}
