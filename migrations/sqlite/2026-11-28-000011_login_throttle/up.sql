-- Login attempts counted per key: `addr:<address>` and `name:<username>@<address>`, so that
-- a flood from one address is stopped without locking its victims out from elsewhere. An
-- attempt is counted before its password is checked (so concurrent attempts cannot outrun
-- the count) and forgotten when it succeeds. Kept in the database so that every server
-- process sees the same counts.
DROP TABLE login_failures;
CREATE TABLE login_throttle (
    key TEXT PRIMARY KEY NOT NULL,
    attempts INTEGER NOT NULL,
    first_at BIGINT NOT NULL,
    locked_until BIGINT
);
