//go:build race

package engineio

const raceEnabled = true
