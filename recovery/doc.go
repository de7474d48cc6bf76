// Package recovery owns recovery keys: sets of single-use keys, shown once
// and stored only as hashes, that are the way back into an account that lost
// its other credentials. It makes a new set (voiding the old one), reports
// how many keys are left, and burns a key when one is used, inside the
// caller's transaction when the caller wants the use to land together with
// the session it opens.
//
// The sign-in flow in package authn calls Use as a second factor or to
// regain access; the security page calls Generate and Status. Raising the
// alert that docs/design.md §Policies P14 requires for every use is the
// caller's job, in the same transaction.
package recovery
