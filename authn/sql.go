package authn

// AccountClaimsSQL is a FROM item for other packages' statements: every
// account's claims (id, email, name), so that idp reads them with a token
// in the token's own statement, one round trip. authn alone names its
// tables (docs/tables.md); this is what it publishes of accounts.
// PostgreSQL merges the subquery into the statement: a primary-key lookup.
const AccountClaimsSQL = `(SELECT id, email, name FROM accounts)`
