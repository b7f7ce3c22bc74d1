package codec

import (
	"fmt"
	"net"
	"net/netip"
	"net/url"
	"strings"
)

// The environment variables ServerConfigFromEnv reads.
const (
	// EnvServerAddr is the codec server's listen address (default
	// DefaultServerAddr, loopback only).
	EnvServerAddr = "CODEC_SERVER_ADDR"
	// EnvCORSOrigins lists, comma separated, the Web UI origins allowed to call
	// the codec server (default DefaultCORSOrigins).
	EnvCORSOrigins = "CODEC_CORS_ORIGINS"
	// EnvServerToken, when set, is the bearer token every request must carry
	// (the CLI's --codec-auth "Bearer <token>").
	EnvServerToken = "CODEC_SERVER_TOKEN"
)

// Codec server defaults.
const (
	// DefaultServerAddr listens on loopback only: the codec server decrypts for
	// whoever reaches it.
	DefaultServerAddr = "127.0.0.1:8081"
	// DefaultCORSOrigins are the dev server's Web UI and the UI's docker image.
	DefaultCORSOrigins = "http://localhost:8233,http://localhost:8080"
)

// ServerConfig is a codec server's configuration.
type ServerConfig struct {
	// Addr is the listen address.
	Addr string
	// Handler configures NewHTTPHandler.
	Handler HandlerOptions
}

// ServerConfigFromEnv reads EnvServerAddr, EnvCORSOrigins and EnvServerToken
// through lookup (os.LookupEnv, or a map's in tests). An empty variable counts
// as unset; CODEC_CORS_ORIGINS set to a lone "-" allows no origin.
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

// checkOrigin accepts a browser origin, scheme://host[:port], as a browser
// sends it in an Origin header (no path, no trailing slash, no wildcard).
func checkOrigin(o string) error {
	u, err := url.Parse(o)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" ||
		u.Path != "" || u.RawQuery != "" || u.Fragment != "" || u.User != nil || strings.Contains(o, "*") {
		return fmt.Errorf("origin %q: want scheme://host[:port], e.g. http://localhost:8233", o)
	}
	return nil
}

// Check refuses a configuration that would serve plaintext to the network:
// without AuthToken the codec server must listen on a loopback address only.
func (c ServerConfig) Check() error {
	if c.Handler.AuthToken != "" || loopback(c.Addr) {
		return nil
	}
	return fmt.Errorf("codec server: %s=%q is not a loopback address and %s is not set: anyone reaching it "+
		"could decrypt every payload and encrypt under the live key; set %s (clients send --codec-auth \"Bearer <token>\") "+
		"or listen on 127.0.0.1", EnvServerAddr, c.Addr, EnvServerToken, EnvServerToken)
}

// loopback tells whether the listen address addr binds loopback only: an IP
// literal in 127.0.0.0/8 or ::1, or "localhost" (an empty host binds every
// interface).
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
