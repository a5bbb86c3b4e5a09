package main

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/entrasaml/entrasaml"
	"github.com/entrasaml/entrasaml/redisstore"
)

// newRedisStore connects to the Redis at rawURL (redis://HOST:PORT/DB). An
// unreachable server is not fatal: it is logged, sign-ins answer 503 until
// Redis is back, and recovery is automatic.
func newRedisStore(rawURL string, logger *slog.Logger) (entrasaml.Store, error) {
	opts, err := redis.ParseURL(rawURL)
	if err != nil {
		return nil, fmt.Errorf("-redis: %w", err)
	}
	if opts.DialTimeout == 0 {
		opts.DialTimeout = 2 * time.Second
	}
	if opts.ReadTimeout == 0 {
		opts.ReadTimeout = time.Second
	}
	if opts.WriteTimeout == 0 {
		opts.WriteTimeout = time.Second
	}
	client := redis.NewClient(opts)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	if err := client.Ping(ctx).Err(); err != nil {
		logger.Warn("Redis is not reachable yet: sign-in answers 503 until it is", "addr", opts.Addr, "err", err)
	} else {
		logger.Info("sessions and used assertion IDs are kept in Redis", "addr", opts.Addr, "db", opts.DB)
	}
	return redisstore.New(client, redisstore.Options{}), nil
}
