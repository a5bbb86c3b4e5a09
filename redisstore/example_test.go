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

// Behind Sentinel (three Sentinels watching a primary and two replicas),
// with every write acknowledged by a replica before the SP relies on it, so
// that a failover loses no session and lets no response be accepted twice.
// With several Addrs and no MasterName, NewUniversalClient makes a Cluster
// client instead; the Store is used the same way.
func ExampleNew_sentinel() {
	rdb := redis.NewUniversalClient(&redis.UniversalOptions{
		Addrs:                 []string{"10.0.0.7:26379", "10.0.0.8:26379", "10.0.0.9:26379"},
		MasterName:            "entrasaml",
		ContextTimeoutEnabled: true,
		ReadTimeout:           2 * time.Second, // above WaitTimeout
	})
	store := redisstore.New(rdb, redisstore.Options{WaitReplicas: 1, WaitTimeout: 500 * time.Millisecond})
	_ = store // Config.Store, as in the example above
}
