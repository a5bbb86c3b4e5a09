package main

import (
	"context"
	"os"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

func TestFileStore(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	dir := t.TempDir()
	s1, err := newFileStore(dir)
	if err != nil {
		t.Fatal(err)
	}
	s2, _ := newFileStore(dir) // another instance on the same directory

	if _, found, err := s1.Get(ctx, "a/b"); found || err != nil {
		t.Fatalf("Get of a missing key: %v %v", found, err)
	}
	if err := s1.Set(ctx, "a/b", []byte("v1"), time.Minute); err != nil {
		t.Fatal(err)
	}
	if v, found, err := s2.Get(ctx, "a/b"); string(v) != "v1" || !found || err != nil {
		t.Fatalf("Get from the other instance: %q %v %v", v, found, err)
	}
	if err := s2.Set(ctx, "a/b", []byte("v2"), time.Minute); err != nil {
		t.Fatal(err)
	}
	if v, _, _ := s1.Get(ctx, "a/b"); string(v) != "v2" {
		t.Fatalf("after Set: %q", v)
	}
	if err := s1.Delete(ctx, "a/b"); err != nil {
		t.Fatal(err)
	}
	if _, found, _ := s2.Get(ctx, "a/b"); found {
		t.Fatal("found after Delete")
	}
	if err := s1.Delete(ctx, "a/b"); err != nil {
		t.Fatalf("Delete of a missing key: %v", err)
	}

	// Expiry.
	if err := s1.Set(ctx, "short", []byte("x"), time.Millisecond); err != nil {
		t.Fatal(err)
	}
	time.Sleep(5 * time.Millisecond)
	if _, found, _ := s1.Get(ctx, "short"); found {
		t.Error("expired entry found")
	}
	if ok, err := s1.SetIfAbsent(ctx, "short", []byte("y"), time.Minute); !ok || err != nil {
		t.Errorf("SetIfAbsent over an expired entry: %v %v", ok, err)
	}

	// SetIfAbsent: exactly one winner among instances.
	var wins atomic.Int32
	var wg sync.WaitGroup
	for i := range 16 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			s := s1
			if i%2 == 1 {
				s = s2
			}
			ok, err := s.SetIfAbsent(ctx, "replay/_id", []byte("1"), time.Minute)
			if err != nil {
				t.Error(err)
			}
			if ok {
				wins.Add(1)
			}
		}()
	}
	wg.Wait()
	if wins.Load() != 1 {
		t.Errorf("%d winners of SetIfAbsent, want 1", wins.Load())
	}

	// No temporary files are left behind.
	entries, _ := os.ReadDir(dir)
	for _, e := range entries {
		if e.Name()[0] == '.' {
			t.Errorf("left behind: %s", e.Name())
		}
	}
	cancelled, cancel := context.WithCancel(ctx)
	cancel()
	if _, _, err := s1.Get(cancelled, "x"); err == nil {
		t.Error("Get with a cancelled context succeeded")
	}
}
