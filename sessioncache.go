package entrasaml

import "sync"

// sessionCacheBytes is the memory budget of an SP's decoded-session cache:
// 64 MiB, about 4,800 active users with 150 groups each (14 KB) or 28,000
// with a few (2.4 KB). Beyond it the least recently used sessions are
// dropped; they are decoded again from the Store (a few microseconds) when
// their user returns.
const sessionCacheBytes = 64 << 20

// sessionCacheEntryBytes is what an entry costs besides the session ID,
// the stored bytes and the decoded session: the entry and its map slot.
const sessionCacheEntryBytes = 112

// sessionCache keeps decoded sessions, so that a signed-in request costs a
// Store lookup and a byte comparison instead of a decode. The Store stays
// the authority: an entry is used only while its bytes equal the Store's.
// It is a least-recently-used list bounded by bytes (sessionCacheBytes, as
// estimated by decodeSession); its zero value is ready to use. The
// sessions it returns are shared between requests and must not be
// modified.
type sessionCache struct {
	mu     sync.Mutex
	m      map[string]*cacheEntry
	lru    cacheEntry // sentinel of a ring: lru.next is the most recently used
	bytes  int        // sum of the entries' cost
	budget int        // 0: sessionCacheBytes
}

type cacheEntry struct {
	prev, next *cacheEntry
	id         string
	raw        string   // the Store's bytes s was decoded from
	s          *Session // read-only
	cost       int
}

// decode returns the session stored under id as raw, from the cache when
// raw is what it was decoded from, or nil when raw does not decode.
func (c *sessionCache) decode(id string, raw []byte) *Session {
	c.mu.Lock()
	e := c.m[id]
	if e != nil {
		c.unlink(e)
		c.pushFront(e)
	}
	c.mu.Unlock()
	if e != nil && e.raw == string(raw) {
		return e.s
	}
	// One copy of raw: the decoded strings point into it, and later
	// requests compare the Store's bytes with it.
	str := string(raw)
	s, held, err := decodeSession(str)
	if err != nil {
		return nil
	}
	// The allocator rounds sizes up to its size classes, by up to an eighth.
	cost := (sessionCacheEntryBytes + len(id) + len(str) + held) * 9 / 8
	e = &cacheEntry{id: id, raw: str, s: s, cost: cost}
	c.mu.Lock()
	c.add(e)
	c.mu.Unlock()
	return s
}

// forget drops id's entry.
func (c *sessionCache) forget(id string) {
	c.mu.Lock()
	if e := c.m[id]; e != nil {
		c.remove(e)
	}
	c.mu.Unlock()
}

// add puts e in front, replacing any entry of its ID, and drops the least
// recently used entries until the cache is within its budget. An entry
// larger than the whole budget is not kept.
func (c *sessionCache) add(e *cacheEntry) {
	if c.m == nil {
		c.m = make(map[string]*cacheEntry)
		c.lru.next, c.lru.prev = &c.lru, &c.lru
	}
	if c.budget == 0 {
		c.budget = sessionCacheBytes
	}
	if old := c.m[e.id]; old != nil {
		c.remove(old)
	}
	if e.cost > c.budget {
		return
	}
	for c.bytes+e.cost > c.budget {
		c.remove(c.lru.prev)
	}
	c.m[e.id] = e
	c.pushFront(e)
	c.bytes += e.cost
}

func (c *sessionCache) remove(e *cacheEntry) {
	c.unlink(e)
	delete(c.m, e.id)
	c.bytes -= e.cost
}

func (c *sessionCache) unlink(e *cacheEntry) {
	e.prev.next, e.next.prev = e.next, e.prev
	e.prev, e.next = nil, nil
}

func (c *sessionCache) pushFront(e *cacheEntry) {
	e.prev, e.next = &c.lru, c.lru.next
	c.lru.next.prev = e
	c.lru.next = e
}
