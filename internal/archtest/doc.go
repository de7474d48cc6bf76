// Package archtest holds tests of latch's structure rather than its
// behaviour: that each table is named in SQL by its owning package only
// (docs/tables.md), and that the session domain renders no page.
package archtest
