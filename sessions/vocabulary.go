package sessions

import "fmt"

// The words latch stores and shows: an account's security mode. Each type
// holds the values the database keeps, which never change.

// SecurityMode is an account's security mode (docs/design.md §Policies
// P19), the key of a Policy and of the step-up windows.
type SecurityMode string

const (
	// ModeStandard is every account's mode until its owner turns advanced
	// security on.
	ModeStandard SecurityMode = "standard"
	// ModeAdvanced signs in with passkeys only, under shorter lifetimes.
	ModeAdvanced SecurityMode = "advanced"
)

// ParseSecurityMode reads a mode as the database keeps it. Any other value
// is an error, never a mode latch guesses.
func ParseSecurityMode(s string) (SecurityMode, error) {
	switch m := SecurityMode(s); m {
	case ModeStandard, ModeAdvanced:
		return m, nil
	}
	return "", fmt.Errorf("sessions: unknown security mode %q", s)
}
