// Package interop tests the server against the official Node.js
// socket.io-client (see interop_test.go and test/*.test.js). It needs
// Node.js 20+ and `npm ci --prefix interop`.
package interop
