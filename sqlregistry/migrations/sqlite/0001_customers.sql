-- The customer registry (package sqlregistry), SQLite edition of
-- migrations/postgres/0001_customers.sql: the same tables and columns, with
-- SQLite's types (booleans are 0 and 1, times Unix microseconds).

-- The registry-wide version: one row, incremented by every write in the
-- write's transaction. Its row lock orders the writes, so versions are
-- contiguous and committed in order; pollers compare it with the last
-- version they saw.
CREATE TABLE registry_state (
	id      integer PRIMARY KEY CHECK (id = 1),
	version integer NOT NULL
);
INSERT INTO registry_state (id, version) VALUES (1, 0);

-- One row per customer: tenants.Customer.
CREATE TABLE customers (
	key                 text    PRIMARY KEY,
	entity_id           text    NOT NULL,
	base_url            text    NOT NULL,
	metadata_url        text    NOT NULL DEFAULT '',
	metadata            blob,
	metadata_fetched_us integer NOT NULL DEFAULT 0,
	metadata_signers    text    NOT NULL DEFAULT '[]', -- JSON array of hex fingerprints
	options             text    NOT NULL DEFAULT '{}', -- JSON of tenants.Options
	enabled             integer NOT NULL,
	enforced            integer NOT NULL,
	version             integer NOT NULL,
	created_us          integer NOT NULL,
	updated_us          integer NOT NULL
);

-- The change journal: one row per committed write (the version it got and
-- the key it changed), for watchers that poll. Pruned to the last rows.
CREATE TABLE customer_changes (
	version    integer PRIMARY KEY,
	key        text   NOT NULL,
	op         text   NOT NULL, -- put, disable, delete, refresh
	changed_us integer NOT NULL
);

-- The audit log: who changed which customer, when and how. Every write
-- adds a row in its transaction; nothing prunes it. Events that are not
-- registry writes (an admin's test sign-in) may add rows with version NULL.
CREATE TABLE audit_log (
	id      integer PRIMARY KEY AUTOINCREMENT,
	at_us   integer NOT NULL,
	key     text   NOT NULL,
	version integer,
	actor   text   NOT NULL,          -- Registry.As; "" when unknown
	action  text   NOT NULL,          -- put, create, disable, delete, refresh, ...
	detail  text   NOT NULL DEFAULT '{}' -- JSON: what the customer became
);
CREATE INDEX audit_log_key ON audit_log (key, id);

-- Metadata refresh leases: the instance holding an unexpired lease on a
-- customer refreshes its URL metadata; the others leave it alone.
CREATE TABLE metadata_refresh (
	key         text   PRIMARY KEY,
	holder      text   NOT NULL,
	lease_us    integer NOT NULL, -- the lease expires (and the next refresh is due) then
	checked_us  integer NOT NULL DEFAULT 0,
	last_error  text   NOT NULL DEFAULT ''
);
