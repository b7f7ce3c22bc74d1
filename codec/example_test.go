package codec_test

import (
	"fmt"
	"log"
	"net/http"
	"os"
	"time"

	"go.temporal.io/sdk/client"

	"github.com/circleci-sync/circleci-sync/codec"
)

// A new keyring entry, for PAYLOAD_ENCRYPTION_KEYS: put it first to rotate.
func ExampleNewKeyLine() {
	line, err := codec.NewKeyLine("k-2026-05")
	if err != nil {
		log.Fatal(err)
	}
	keys, err := codec.ParseKeys(line + ",k-2026-01=" + mustKey())
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(len(line), keys)
	// Output: 54 [codec.Key(k-2026-05) codec.Key(k-2026-01)]
}

// mustKey returns a new random key.
func mustKey() string {
	k, err := codec.GenerateKey()
	if err != nil {
		log.Fatal(err)
	}
	return k
}

// A worker's or starter's client: encryption on when a keyring is configured.
func ExampleApply() {
	c, err := codec.FromEnv(os.LookupEnv)
	if err != nil {
		log.Fatal(err)
	}
	opts := client.Options{HostPort: "localhost:7233"}
	codec.Apply(&opts, c) // no-op when c is nil
	cl, err := client.Dial(opts)
	if err != nil {
		log.Fatal(err)
	}
	defer cl.Close()
}

// A codec server for the CLI (--codec-endpoint http://127.0.0.1:8081/{namespace})
// and the Web UI (TEMPORAL_CODEC_ENDPOINT=http://127.0.0.1:8081).
func ExampleNewHTTPHandler() {
	c, err := codec.FromEnv(os.LookupEnv)
	if err != nil || c == nil {
		log.Fatalf("codec server without a keyring: %v", err)
	}
	cfg, err := codec.ServerConfigFromEnv(os.LookupEnv)
	if err != nil {
		log.Fatal(err)
	}
	srv := &http.Server{Addr: cfg.Addr, Handler: codec.NewHTTPHandler(c, cfg.Handler), ReadHeaderTimeout: 10 * time.Second}
	log.Fatal(srv.ListenAndServe())
}
