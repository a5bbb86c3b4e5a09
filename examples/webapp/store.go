package main

import (
	"context"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"
)

// fileStore is an entrasaml.Store kept in a directory, one file per key,
// so that the app's instances on one machine (or on a shared volume) share
// sessions and the replay cache. It is a small example of the interface;
// production deployments use a database or Redis.
//
// A file holds an 8-byte big-endian expiry (Unix nanoseconds) and the
// value. Files are written to a temporary name and then renamed or linked
// into place, so readers never see half a value, and SetIfAbsent is atomic
// across processes: os.Link fails when the name exists.
type fileStore struct {
	dir string

	mu        sync.Mutex
	nextSweep time.Time
}

const tempPrefix = ".tmp-"

func newFileStore(dir string) (*fileStore, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, err
	}
	return &fileStore{dir: dir}, nil
}

// path returns the file of key (keys contain '/').
func (s *fileStore) path(key string) string {
	h := sha256.Sum256([]byte(key))
	return filepath.Join(s.dir, hex.EncodeToString(h[:]))
}

// read returns the value of the file at p, and whether it is present and
// unexpired.
func read(p string, now time.Time) ([]byte, bool, error) {
	b, err := os.ReadFile(p)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, false, nil
	}
	if err != nil {
		return nil, false, err
	}
	if len(b) < 8 || int64(binary.BigEndian.Uint64(b)) <= now.UnixNano() {
		return nil, false, nil
	}
	return b[8:], true, nil
}

// Get implements entrasaml.Store.
func (s *fileStore) Get(ctx context.Context, key string) ([]byte, bool, error) {
	if err := ctx.Err(); err != nil {
		return nil, false, err
	}
	return read(s.path(key), time.Now())
}

// Set implements entrasaml.Store.
func (s *fileStore) Set(ctx context.Context, key string, value []byte, ttl time.Duration) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if ttl <= 0 {
		return s.Delete(ctx, key)
	}
	s.sweep()
	tmp, err := s.writeTemp(value, time.Now().Add(ttl))
	if err != nil {
		return err
	}
	if err := os.Rename(tmp, s.path(key)); err != nil {
		os.Remove(tmp)
		return err
	}
	return nil
}

// SetIfAbsent implements entrasaml.Store.
func (s *fileStore) SetIfAbsent(ctx context.Context, key string, value []byte, ttl time.Duration) (bool, error) {
	if err := ctx.Err(); err != nil {
		return false, err
	}
	s.sweep()
	now := time.Now()
	p := s.path(key)
	if ttl <= 0 {
		_, found, err := read(p, now)
		return !found, err
	}
	tmp, err := s.writeTemp(value, now.Add(ttl))
	if err != nil {
		return false, err
	}
	defer os.Remove(tmp)
	err = os.Link(tmp, p)
	if err == nil {
		return true, nil
	}
	if !errors.Is(err, fs.ErrExist) {
		return false, err
	}
	if _, found, err := read(p, now); found || err != nil {
		return false, err
	}
	// The entry there has expired: replace it. Two processes racing here
	// may both succeed, which is harmless for the replay cache: an entry
	// expires only after the assertion it remembers has expired.
	return true, os.Rename(tmp, p)
}

// Delete implements entrasaml.Store.
func (s *fileStore) Delete(ctx context.Context, key string) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if err := os.Remove(s.path(key)); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return err
	}
	return nil
}

func (s *fileStore) writeTemp(value []byte, expires time.Time) (string, error) {
	f, err := os.CreateTemp(s.dir, tempPrefix+"*")
	if err != nil {
		return "", err
	}
	b := binary.BigEndian.AppendUint64(make([]byte, 0, 8+len(value)), uint64(expires.UnixNano()))
	_, err = f.Write(append(b, value...))
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		os.Remove(f.Name())
		return "", err
	}
	return f.Name(), nil
}

// sweep deletes expired entries and stale temporary files, at most once a
// minute per process.
func (s *fileStore) sweep() {
	now := time.Now()
	s.mu.Lock()
	if now.Before(s.nextSweep) {
		s.mu.Unlock()
		return
	}
	s.nextSweep = now.Add(time.Minute)
	s.mu.Unlock()

	entries, err := os.ReadDir(s.dir)
	if err != nil {
		return
	}
	for _, e := range entries {
		p := filepath.Join(s.dir, e.Name())
		if strings.HasPrefix(e.Name(), tempPrefix) {
			if info, err := e.Info(); err == nil && now.Sub(info.ModTime()) > time.Minute {
				os.Remove(p)
			}
			continue
		}
		if _, found, err := read(p, now); err == nil && !found {
			os.Remove(p)
		}
	}
}
