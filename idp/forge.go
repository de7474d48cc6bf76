package idp

import (
	"context"
	"fmt"
)

// The methods in this file make a state that, in life, only a fault makes,
// so that end-to-end tests can start from it. latch itself never calls
// them.

// RevokeAccessTokensUnannounced revokes every access token the way an
// operator's UPDATE would, or a revocation whose notification was lost:
// the rows say revoked, but no replica's token cache is told. Tests of the
// token cache use it to show what a replica does when it misses a
// revocation. It returns how many tokens it revoked.
func (s *Storage) RevokeAccessTokensUnannounced(ctx context.Context) (int, error) {
	tag, err := s.DB.Exec(ctx, `UPDATE access_tokens SET revoked_at = $1 WHERE revoked_at IS NULL`, s.Now().UTC())
	if err != nil {
		return 0, fmt.Errorf("idp: revoke access tokens: %w", err)
	}
	return int(tag.RowsAffected()), nil
}
