-- Failed logins per username (known or not, so that a lockout tells nothing about which
-- usernames exist), kept in the database so that every server process sees the same count.
CREATE TABLE login_failures (
    username TEXT PRIMARY KEY NOT NULL,
    failures INTEGER NOT NULL,
    first_at BIGINT NOT NULL,
    locked_until BIGINT
);
