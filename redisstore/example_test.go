package redisstore_test

import (
	"context"
	"encoding/hex"
	"log"
	"net/http"
	"os"
	"time"

	"github.com/entrasaml/entrasaml"
	"github.com/entrasaml/entrasaml/redisstore"
	"github.com/redis/go-redis/v9"
)

// Every instance of the app runs the same code with the same settings:
// one Redis, one session key.
func Example() {
	opts, err := redis.ParseURL(os.Getenv("REDIS_URL")) // redis://10.0.0.5:6379/0
	if err != nil {
		log.Fatal(err)
	}
	opts.ContextTimeoutEnabled = true // request deadlines bound Redis calls
	opts.ReadTimeout, opts.WriteTimeout = 500*time.Millisecond, 500*time.Millisecond
	key, err := hex.DecodeString(os.Getenv("SESSION_KEY")) // 64 hex digits
	if err != nil {
		log.Fatal(err)
	}
	sp, err := entrasaml.New(context.Background(), entrasaml.Config{
		EntityID:    "https://app.example/saml",
		BaseURL:     "https://app.example",
		MetadataURL: os.Getenv("ENTRA_METADATA_URL"),
		Store:       redisstore.New(redis.NewClient(opts), redisstore.Options{}),
		SessionKeys: [][]byte{key},
	})
	if err != nil {
		log.Fatal(err)
	}
	http.Handle("/saml/", sp)
	http.Handle("/", sp.RequireAccount(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s, _ := entrasaml.SessionFromContext(r.Context())
		w.Write([]byte("hello " + s.NameID))
	})))
	log.Fatal(http.ListenAndServe(":8080", nil))
}
