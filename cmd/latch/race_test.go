//go:build race

package main

// raceEnabled: the race detector keeps shadow memory beside every
// allocation, so resource bounds measured in this build are looser.
const raceEnabled = true
